package io.pgrelay.apply;

/** SQLSTATE classes that matter to apply (PostgreSQL Appendix A). */
final class SqlStates {
    static final String UNIQUE_VIOLATION = "23505";
    /** No row: what an UPDATE or DELETE that misses its row would say, had PostgreSQL an error for it. */
    static final String NO_DATA = "02000";

    private SqlStates() {}

    /** Class 08: the connection is gone or broken; no statement can follow on it. */
    static boolean isConnectionFailure(String sqlState) {
        return sqlState != null && sqlState.startsWith("08");
    }

    /**
     * Errors caused by the row or the table, not by the connection: data exceptions (22),
     * integrity violations (23), triggered data change (27), syntax or access rules (42),
     * WITH CHECK OPTION (44), and errors raised by triggers (P0). Retrying cannot help.
     */
    static boolean isAboutTheData(String sqlState) {
        if (sqlState == null || sqlState.length() != 5) {
            return false;
        }
        String sqlClass = sqlState.substring(0, 2);
        return switch (sqlClass) {
            case "22", "23", "27", "42", "44", "P0" -> true;
            default -> false;
        };
    }
}
