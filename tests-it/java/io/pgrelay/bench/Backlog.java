package io.pgrelay.bench;

/**
 * A backlog as written on the root: the content every consumer must reproduce, the WAL position
 * after its last commit, and its size.
 *
 * @param marker id of the row in the end table written last; its arrival means "look now"
 */
record Backlog(String expected, int marker, String endLsn, long rows, long transactions) {
}
