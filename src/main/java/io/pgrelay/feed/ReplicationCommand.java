package io.pgrelay.feed;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The commands a feed understands, parsed from a simple-query string. Replication commands
 * follow walsender's grammar (repl_gram.y) closely enough for pgjdbc, pg_recvlogical and
 * libpqwalreceiver; SQL is recognised only in the few fixed forms those clients send.
 */
public sealed interface ReplicationCommand {

    record IdentifySystem() implements ReplicationCommand {}

    /** @param exportSnapshot {@code (SNAPSHOT 'export')}, or {@code EXPORT_SNAPSHOT} in the old syntax */
    record CreateSlot(String name, boolean temporary, String plugin, boolean exportSnapshot) implements ReplicationCommand {
        public CreateSlot(String name, boolean temporary, String plugin) {
            this(name, temporary, plugin, false);
        }
    }

    record DropSlot(String name, boolean waitForRelease) implements ReplicationCommand {}

    record StartReplication(String slot, long startLsn, Map<String, String> options) implements ReplicationCommand {
        public StartReplication {
            options = Map.copyOf(options);
        }
    }

    /** {@code SHOW name}: a few settings clients ask for. */
    record Show(String setting) implements ReplicationCommand {}

    /** A fixed SQL query a client sends; answered from what the relay knows. */
    record Sql(String text) implements ReplicationCommand {}

    record Empty() implements ReplicationCommand {}

    /** Parses one command; a {@link Sql} for anything that is not a replication command. */
    static ReplicationCommand parse(String query) {
        String text = query.trim();
        while (text.endsWith(";")) {
            text = text.substring(0, text.length() - 1).trim();
        }
        if (text.isEmpty()) {
            return new Empty();
        }
        String upper = text.toUpperCase(Locale.ROOT);
        if (upper.equals("IDENTIFY_SYSTEM")) {
            return new IdentifySystem();
        }
        Matcher m;
        if ((m = CREATE.matcher(text)).matches()) {
            return new CreateSlot(identifier(m.group(1)), m.group(2) != null, identifier(m.group(3)),
                    m.group(4) != null && EXPORT_SNAPSHOT.matcher(m.group(4)).find());
        }
        if ((m = DROP.matcher(text)).matches()) {
            return new DropSlot(identifier(m.group(1)), m.group(2) != null);
        }
        if ((m = START.matcher(text)).matches()) {
            return new StartReplication(identifier(m.group(1)), parseLsn(m.group(2)), options(m.group(3)));
        }
        if ((m = SHOW.matcher(text)).matches()) {
            return new Show(identifier(m.group(1)).toLowerCase(Locale.ROOT));
        }
        return new Sql(text);
    }

    // Possessive quantifiers throughout: a greedy (x|y)+ recurses once per character in
    // java.util.regex, and a 10 kB quoted name from a client overflowed the session's stack.
    String IDENT = "(\"(?:[^\"]++|\"\")++\"|[A-Za-z_][A-Za-z0-9_$]*+)";
    Pattern CREATE = Pattern.compile("(?is)CREATE_REPLICATION_SLOT\\s+" + IDENT + "\\s+(TEMPORARY\\s+)?LOGICAL\\s+" + IDENT
            + "(?:\\s+(.*))?");
    Pattern EXPORT_SNAPSHOT = Pattern.compile("(?is)^\\s*(EXPORT_SNAPSHOT\\b|\\(.*\\bSNAPSHOT\\s+'export')");
    Pattern DROP = Pattern.compile("(?is)DROP_REPLICATION_SLOT\\s+" + IDENT + "(\\s+WAIT)?");
    Pattern START = Pattern.compile("(?is)START_REPLICATION\\s+SLOT\\s+" + IDENT + "\\s+LOGICAL\\s+([0-9A-Fa-f]+/[0-9A-Fa-f]+)"
            + "(?:\\s*\\((.*)\\))?");
    Pattern SHOW = Pattern.compile("(?is)SHOW\\s+" + IDENT);
    Pattern OPTION = Pattern.compile("(?s)\\s*" + IDENT + "(?:\\s+'((?:[^']++|'')*+)')?\\s*(?:,|$)");

    private static String identifier(String token) {
        if (token.startsWith("\"")) {
            return token.substring(1, token.length() - 1).replace("\"\"", "\"");
        }
        return token.toLowerCase(Locale.ROOT);
    }

    private static long parseLsn(String text) {
        int slash = text.indexOf('/');
        return (Long.parseLong(text.substring(0, slash), 16) << 32) | Long.parseLong(text.substring(slash + 1), 16);
    }

    private static Map<String, String> options(String list) {
        Map<String, String> options = new LinkedHashMap<>();
        if (list == null || list.isBlank()) {
            return options;
        }
        Matcher m = OPTION.matcher(list);
        int at = 0;
        while (at < list.length() && m.find(at) && m.start() == at) {
            options.put(identifier(m.group(1)), m.group(2) == null ? "" : m.group(2).replace("''", "'"));
            at = m.end();
            if (m.end() == m.start()) {
                break;
            }
        }
        if (at < list.trim().length() && !list.substring(at).isBlank()) {
            throw new IllegalArgumentException("cannot parse replication options: " + list);
        }
        return options;
    }
}
