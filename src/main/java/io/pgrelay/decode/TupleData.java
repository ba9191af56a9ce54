package io.pgrelay.decode;

import java.util.Arrays;

/**
 * The column values of one row as pgoutput sends them: each column is null, an unchanged
 * TOASTed value (its content was not sent), or text in the type's output format.
 *
 * <p>Immutable once built by the decoder; arrays are never handed out.
 */
public final class TupleData {

    /** How one column's value was sent. */
    public enum Kind { NULL, UNCHANGED_TOAST, TEXT, BINARY }

    private final Kind[] kinds;
    private final Object[] values;

    TupleData(Kind[] kinds, Object[] values) {
        this.kinds = kinds;
        this.values = values;
    }

    /** Builds a tuple of text and null values, for tests and for the apply layer's own rows. */
    public static TupleData ofText(String... texts) {
        Kind[] kinds = new Kind[texts.length];
        for (int i = 0; i < texts.length; i++) {
            kinds[i] = texts[i] == null ? Kind.NULL : Kind.TEXT;
        }
        return new TupleData(kinds, texts.clone());
    }

    public int size() {
        return kinds.length;
    }

    public Kind kind(int column) {
        return kinds[column];
    }

    public boolean isUnchangedToast(int column) {
        return kinds[column] == Kind.UNCHANGED_TOAST;
    }

    public boolean hasUnchangedToast() {
        for (Kind kind : kinds) {
            if (kind == Kind.UNCHANGED_TOAST) {
                return true;
            }
        }
        return false;
    }

    /** The text value, or null for a NULL column. */
    public String text(int column) {
        return switch (kinds[column]) {
            case NULL -> null;
            case TEXT -> (String) values[column];
            case UNCHANGED_TOAST -> throw new IllegalStateException("column " + column + " is unchanged TOAST: no value was sent");
            case BINARY -> throw new IllegalStateException("column " + column + " was sent in binary format");
        };
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TupleData that
                && Arrays.equals(kinds, that.kinds)
                && Arrays.deepEquals(values, that.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(kinds) + Arrays.deepHashCode(values);
    }

    /** Shows the shape only: row values may be confidential and must not leak into logs. */
    @Override
    public String toString() {
        return "TupleData" + Arrays.toString(kinds);
    }
}
