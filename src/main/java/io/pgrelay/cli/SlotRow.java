package io.pgrelay.cli;

/**
 * One feed slot as {@code pgrelay slot list} shows it.
 *
 * @param confirmedLsn the position its client confirmed
 * @param lost         retention released what it still needed ({@code wal_status = lost})
 * @param active       whether a client streams it; null when not known (the relay is stopped)
 * @param temporary    lives only as long as its session (only a running relay has these)
 * @param lagBytes     how far {@code confirmedLsn} is behind the changelog's end (never negative)
 */
record SlotRow(String name, long confirmedLsn, boolean lost, Boolean active, boolean temporary, long lagBytes) {}
