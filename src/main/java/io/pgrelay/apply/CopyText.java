package io.pgrelay.apply;

import java.nio.charset.StandardCharsets;

/**
 * One row in COPY's text format: values separated by tabs, {@code \N} for NULL, and the four
 * characters that the format reserves (backslash, newline, carriage return, tab) escaped, so
 * the server hands each column's input function exactly the text pgoutput printed. Escaping
 * every backslash also keeps a value of {@code \.} from reading as the end-of-data marker.
 */
final class CopyText {
    private CopyText() {}

    /** The row as UTF-8 bytes (pgjdbc always talks UTF-8), ending with a newline. */
    static byte[] row(String[] values) {
        StringBuilder line = new StringBuilder(64);
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                line.append('\t');
            }
            String value = values[i];
            if (value == null) {
                line.append("\\N");
            } else {
                appendEscaped(line, value);
            }
        }
        return line.append('\n').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void appendEscaped(StringBuilder line, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> line.append("\\\\");
                case '\n' -> line.append("\\n");
                case '\r' -> line.append("\\r");
                case '\t' -> line.append("\\t");
                default -> line.append(c);
            }
        }
    }
}
