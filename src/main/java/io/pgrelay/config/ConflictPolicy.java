package io.pgrelay.config;

/** What apply does when a change does not fit the downstream rows (DESIGN.md, Apply rules). */
public enum ConflictPolicy {
    /** Stop at the last good checkpoint, naming table, key and LSN. */
    ERROR,
    /** Leave the downstream row as it is and go on. */
    SKIP,
    /** Make the downstream row equal to the upstream's new row. */
    UPSERT
}
