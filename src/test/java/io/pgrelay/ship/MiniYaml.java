package io.pgrelay.ship;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the small block-style YAML that the shipped compose and Prometheus files are written
 * in: nested mappings and sequences by indentation, plain and quoted scalars, one-line flow
 * sequences ({@code ["a", "b"]}), comments. Scalars stay strings. Anything outside that subset
 * (anchors, block scalars, flow mappings, tabs, several documents) is refused with the line
 * named, never guessed: the files are ours, so they stay within what this reads.
 *
 * <p>No YAML library is on the test classpath, and one is not worth a dependency for two files
 * whose full syntax is checked by {@code docker compose config} and {@code promtool} where those
 * tools exist.
 */
final class MiniYaml {

    private record Line(int number, int indent, String text) {
    }

    private final List<Line> lines;
    private int next;

    private MiniYaml(List<Line> lines) {
        this.lines = lines;
    }

    /** The document's root mapping. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> parse(String text) {
        MiniYaml parser = new MiniYaml(significantLines(text));
        if (parser.lines.isEmpty()) {
            return Map.of();
        }
        Object root = parser.block(parser.lines.get(0).indent);
        if (parser.next < parser.lines.size()) {
            throw parser.unsupported(parser.lines.get(parser.next), "indentation does not match any open block");
        }
        if (!(root instanceof Map)) {
            throw new IllegalArgumentException("YAML root is not a mapping");
        }
        return (Map<String, Object>) root;
    }

    private static List<Line> significantLines(String text) {
        List<Line> result = new ArrayList<>();
        String[] raw = text.split("\n", -1);
        for (int i = 0; i < raw.length; i++) {
            String line = raw[i].stripTrailing();
            if (line.indexOf('\t') >= 0) {
                throw new IllegalArgumentException("line " + (i + 1) + ": tab in YAML");
            }
            String content = stripComment(line);
            if (content.isBlank()) {
                continue;
            }
            if (content.equals("---") || content.equals("...")) {
                throw new IllegalArgumentException("line " + (i + 1) + ": several YAML documents are not supported");
            }
            int indent = content.length() - content.stripLeading().length();
            result.add(new Line(i + 1, indent, content.strip()));
        }
        return result;
    }

    /** Drops a comment: {@code #} at the start or after a space, outside quotes. */
    private static String stripComment(String line) {
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                }
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '#' && (i == 0 || line.charAt(i - 1) == ' ')) {
                return line.substring(0, i).stripTrailing();
            }
        }
        return line;
    }

    private Object block(int indent) {
        Line first = lines.get(next);
        return first.text.equals("-") || first.text.startsWith("- ") ? sequence(indent) : mapping(indent);
    }

    private Map<String, Object> mapping(int indent) {
        Map<String, Object> map = new LinkedHashMap<>();
        while (next < lines.size() && lines.get(next).indent == indent) {
            Line line = lines.get(next);
            if (line.text.startsWith("- ")) {
                break;
            }
            int colon = keyEnd(line);
            String key = unquote(line.text.substring(0, colon).strip(), line);
            String rest = line.text.substring(colon + 1).strip();
            next++;
            Object value;
            if (!rest.isEmpty()) {
                value = scalarOrFlow(rest, line);
            } else if (next < lines.size() && lines.get(next).indent > indent) {
                value = block(lines.get(next).indent);
            } else if (next < lines.size() && lines.get(next).indent == indent && lines.get(next).text.startsWith("- ")) {
                value = sequence(indent); // a sequence may sit at its key's own indentation
            } else {
                value = null;
            }
            if (map.containsKey(key)) {
                throw unsupported(line, "duplicate key '" + key + "'");
            }
            map.put(key, value);
        }
        return map;
    }

    private List<Object> sequence(int indent) {
        List<Object> list = new ArrayList<>();
        while (next < lines.size() && lines.get(next).indent == indent
                && (lines.get(next).text.equals("-") || lines.get(next).text.startsWith("- "))) {
            Line line = lines.get(next);
            String item = line.text.equals("-") ? "" : line.text.substring(2).strip();
            int itemIndent = indent + (line.text.length() - item.length());
            if (item.isEmpty()) {
                next++;
                list.add(next < lines.size() && lines.get(next).indent > indent ? block(lines.get(next).indent) : null);
            } else if (looksLikeMappingEntry(item)) {
                // "- key: value" opens a mapping whose keys line up with "key".
                lines.set(next, new Line(line.number, itemIndent, item));
                list.add(mapping(itemIndent));
            } else {
                next++;
                list.add(scalarOrFlow(item, line));
            }
        }
        return list;
    }

    private static boolean looksLikeMappingEntry(String text) {
        if (text.startsWith("\"") || text.startsWith("'") || text.startsWith("[")) {
            return text.matches("^(\"[^\"]*\"|'[^']*')\\s*:(\\s.*)?$");
        }
        return text.matches("^[^\\s:][^:]*:(\\s.*)?$");
    }

    /** Where the key ends: the first {@code ": "} (or a final {@code :}) outside quotes. */
    private int keyEnd(Line line) {
        String text = line.text;
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                }
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == ':' && (i + 1 == text.length() || text.charAt(i + 1) == ' ')) {
                return i;
            }
        }
        throw unsupported(line, "expected 'key: value'");
    }

    private Object scalarOrFlow(String text, Line line) {
        char first = text.charAt(0);
        if (first == '&' || first == '*' || first == '!' || first == '|' || first == '>' || first == '{') {
            throw unsupported(line, "anchors, tags, block scalars and flow mappings are outside the supported subset");
        }
        if (first == '[') {
            if (!text.endsWith("]")) {
                throw unsupported(line, "a flow sequence must close on its line");
            }
            return flowItems(text.substring(1, text.length() - 1), line);
        }
        return unquote(text, line);
    }

    private List<Object> flowItems(String inner, Line line) {
        List<Object> items = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        char quote = 0;
        for (int i = 0; i < inner.length(); i++) {
            char c = inner.charAt(i);
            if (quote != 0) {
                if (c == '\\' && quote == '"' && i + 1 < inner.length()) {
                    current.append(c).append(inner.charAt(++i));
                    continue;
                }
                if (c == quote) {
                    quote = 0;
                }
                current.append(c);
            } else if (c == '"' || c == '\'') {
                quote = c;
                current.append(c);
            } else if (c == ',') {
                items.add(unquote(current.toString().strip(), line));
                current.setLength(0);
            } else if (c == '[' || c == '{') {
                throw unsupported(line, "nested flow collections are outside the supported subset");
            } else {
                current.append(c);
            }
        }
        if (!current.toString().isBlank()) {
            items.add(unquote(current.toString().strip(), line));
        }
        return items;
    }

    private String unquote(String text, Line line) {
        if (text.length() >= 2 && text.startsWith("\"") && text.endsWith("\"")) {
            String body = text.substring(1, text.length() - 1);
            if (body.contains("\\") && !body.matches("(\\\\[\"\\\\]|[^\\\\])*")) {
                throw unsupported(line, "escapes other than \\\" and \\\\ are outside the supported subset");
            }
            return body.replace("\\\"", "\"").replace("\\\\", "\\");
        }
        if (text.length() >= 2 && text.startsWith("'") && text.endsWith("'")) {
            return text.substring(1, text.length() - 1).replace("''", "'");
        }
        if (text.startsWith("\"") || text.startsWith("'")) {
            throw unsupported(line, "unterminated quoted scalar");
        }
        return text;
    }

    private IllegalArgumentException unsupported(Line line, String why) {
        return new IllegalArgumentException("line " + line.number + ": " + why + ": " + line.text);
    }
}
