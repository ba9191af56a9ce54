package io.pgrelay.apply;

import java.util.Arrays;

/**
 * One row in COPY's text format: values separated by tabs, {@code \N} for NULL, and the four
 * characters that the format reserves (backslash, newline, carriage return, tab) escaped, so
 * the server hands each column's input function exactly the text pgoutput printed. Escaping
 * every backslash also keeps a value of {@code \.} from reading as the end-of-data marker.
 *
 * <p>Encodes straight into one reused UTF-8 buffer (pgjdbc always talks UTF-8): a row costs no
 * allocation once the buffer has grown to the widest row, where building a String and encoding
 * it cost three copies per row. An unpaired surrogate becomes {@code ?}, as String#getBytes does.
 *
 * <p>Not thread-safe: one per {@link StatementBatch}.
 */
final class CopyText {

    private byte[] buffer = new byte[256];
    private int length;

    /** A copy of the encoded row, ending with a newline. */
    static byte[] row(String[] values) {
        CopyText text = new CopyText();
        text.encode(values);
        return Arrays.copyOf(text.buffer, text.length);
    }

    /** Encodes the row, ending with a newline; {@link #bytes()} holds it until the next call. */
    int encode(String[] values) {
        length = 0;
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                put('\t');
            }
            String value = values[i];
            if (value == null) {
                put('\\');
                put('N');
            } else {
                appendEscaped(value);
            }
        }
        put('\n');
        return length;
    }

    /** The buffer holding the last encoded row in its first {@link #encode} bytes. */
    byte[] bytes() {
        return buffer;
    }

    private void appendEscaped(String value) {
        int n = value.length();
        ensure(n * 3 + 2); // worst case without escapes: 3 bytes per char; escapes and pairs fit too
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c < 0x80) {
                switch (c) {
                    case '\\' -> escape('\\');
                    case '\n' -> escape('n');
                    case '\r' -> escape('r');
                    case '\t' -> escape('t');
                    default -> buffer[length++] = (byte) c;
                }
            } else if (c < 0x800) {
                buffer[length++] = (byte) (0xC0 | c >> 6);
                buffer[length++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(value.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, value.charAt(++i));
                buffer[length++] = (byte) (0xF0 | cp >> 18);
                buffer[length++] = (byte) (0x80 | cp >> 12 & 0x3F);
                buffer[length++] = (byte) (0x80 | cp >> 6 & 0x3F);
                buffer[length++] = (byte) (0x80 | cp & 0x3F);
            } else if (Character.isSurrogate(c)) {
                buffer[length++] = '?';
            } else {
                buffer[length++] = (byte) (0xE0 | c >> 12);
                buffer[length++] = (byte) (0x80 | c >> 6 & 0x3F);
                buffer[length++] = (byte) (0x80 | c & 0x3F);
            }
        }
    }

    /** A reserved ASCII character: two bytes, within the 3 bytes per char reserved for it. */
    private void escape(char letter) {
        buffer[length++] = '\\';
        buffer[length++] = (byte) letter;
    }

    private void put(char c) {
        ensure(1);
        buffer[length++] = (byte) c;
    }

    private void ensure(int more) {
        if (length + more > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + more));
        }
    }
}
