package io.pgrelay.decode;

/** Builds tuples the decoder would produce, for tests outside this package. */
public final class TupleDataFixtures {
    private TupleDataFixtures() {}

    /** Text values, with column {@code unchanged} marked as unchanged TOAST. */
    public static TupleData withUnchangedToast(String[] texts, int unchanged) {
        TupleData.Kind[] kinds = new TupleData.Kind[texts.length];
        Object[] values = new Object[texts.length];
        for (int i = 0; i < texts.length; i++) {
            kinds[i] = i == unchanged ? TupleData.Kind.UNCHANGED_TOAST : texts[i] == null ? TupleData.Kind.NULL : TupleData.Kind.TEXT;
            values[i] = i == unchanged ? null : texts[i];
        }
        return new TupleData(kinds, values);
    }
}
