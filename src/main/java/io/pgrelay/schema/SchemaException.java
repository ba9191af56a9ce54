package io.pgrelay.schema;

/**
 * The downstream schema does not fit the upstream's and pgrelay will not guess: a column the
 * downstream lacks, a changed type, a type it cannot create. Permanent: the relay stops at its
 * last checkpoint; the message is one line naming the object and the fix.
 */
public final class SchemaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SchemaException(String message) {
        super(message);
    }
}
