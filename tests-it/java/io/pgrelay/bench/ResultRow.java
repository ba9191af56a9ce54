package io.pgrelay.bench;

/**
 * One line of the catch-up table: a consumer on a part's backlog, measured, FAILED or SKIPPED.
 *
 * @param baseline marks the native-defaults row (and the native cascade in the chain part) that
 *                 the ratios compare against
 */
record ResultRow(String part, String consumer, Kind kind, Outcome outcome, String reason, long rows,
                 long transactions, Baseline baseline) {

    enum Kind { MEASURED, FAILED, SKIPPED }

    enum Baseline { NATIVE_DEFAULTS, IN_BACKEND_DECODE, NONE }

    static ResultRow measured(String part, String consumer, Outcome outcome, long rows, long transactions,
                              Baseline baseline) {
        return new ResultRow(part, consumer, Kind.MEASURED, outcome, null, rows, transactions, baseline);
    }

    static ResultRow failed(String part, String consumer, String reason) {
        return new ResultRow(part, consumer, Kind.FAILED, null, reason, 0, 0, Baseline.NONE);
    }

    static ResultRow skipped(String part, String consumer, String reason) {
        return new ResultRow(part, consumer, Kind.SKIPPED, null, reason, 0, 0, Baseline.NONE);
    }

    boolean measured() {
        return kind == Kind.MEASURED;
    }
}
