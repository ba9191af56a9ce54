package io.pgrelay.feed;

import io.pgrelay.changelog.ChangelogPositionLostException;
import io.pgrelay.feed.ReplicationCommand.CreateSlot;
import io.pgrelay.feed.ReplicationCommand.DropSlot;
import io.pgrelay.feed.ReplicationCommand.Empty;
import io.pgrelay.feed.ReplicationCommand.IdentifySystem;
import io.pgrelay.feed.ReplicationCommand.Show;
import io.pgrelay.feed.ReplicationCommand.Sql;
import io.pgrelay.feed.ReplicationCommand.StartReplication;
import io.pgrelay.feed.wire.ProtocolException;
import io.pgrelay.feed.wire.WireReader;
import io.pgrelay.feed.wire.WireWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes one simple-query command of a feed session and writes its result. A failed command
 * answers with an ErrorResponse and the session goes on, as a walsender's does.
 */
final class FeedCommands {

    private static final Logger log = LoggerFactory.getLogger(FeedCommands.class);
    private static final Pattern SET_SEARCH_PATH =
            Pattern.compile("(?is)SELECT\\s+(pg_catalog\\.)?set_config\\s*\\(\\s*'search_path'\\s*,\\s*''\\s*,\\s*false\\s*\\)");
    private static final Pattern SELECT_PUBLICATIONS =
            Pattern.compile("(?is)SELECT\\s+pubname\\s+FROM\\s+(pg_catalog\\.)?pg_publication");
    private static final Set<String> SUPPORTED_PROTO_VERSIONS = Set.of("1", "2", "3", "4");

    private final FeedContext context;
    private final FeedServer server;
    private final FeedSession session;
    /** A snapshot exported by the last CREATE_REPLICATION_SLOT; lives until the next command. */
    private DownstreamSnapshot exported;

    FeedCommands(FeedContext context, FeedServer server, FeedSession session) {
        this.context = context;
        this.server = server;
        this.session = session;
    }

    /** A command that fails with an ErrorResponse; the session continues. */
    static final class CommandError extends Exception {
        private static final long serialVersionUID = 1L;
        final String sqlState;

        CommandError(String sqlState, String message) {
            super(message);
            this.sqlState = sqlState;
        }
    }

    void execute(String query, WireWriter out, WireReader in) throws IOException, ProtocolException {
        releaseSnapshot();
        try {
            ReplicationCommand command;
            try {
                command = ReplicationCommand.parse(query);
            } catch (IllegalArgumentException e) {
                throw new CommandError("42601", "syntax error: " + e.getMessage());
            }
            if (command instanceof IdentifySystem) {
                identifySystem(out);
            } else if (command instanceof CreateSlot create) {
                createSlot(create, out);
            } else if (command instanceof DropSlot drop) {
                dropSlot(drop, out);
            } else if (command instanceof StartReplication start) {
                startReplication(start, out, in);
            } else if (command instanceof Show show) {
                show(show, out);
            } else if (command instanceof Sql sql) {
                sql(sql, out);
            } else if (command instanceof Empty) {
                out.emptyQueryResponse();
            }
        } catch (CommandError e) {
            out.error("ERROR", e.sqlState, e.getMessage());
        }
    }

    private void identifySystem(WireWriter out) throws IOException, CommandError {
        SystemIdentity identity = context.identity().get();
        if (identity == null) {
            // 57P03 (cannot_connect_now): a child started before its parent reached the root retries.
            throw new CommandError("57P03", "the relay has not connected to its upstream yet: try again shortly");
        }
        out.rowDescription(FeedSession.fields("systemid", WireWriter.TEXT, "timeline", WireWriter.INT4,
                "xlogpos", WireWriter.TEXT, "dbname", WireWriter.TEXT));
        out.dataRow(Arrays.asList(identity.systemId(), String.valueOf(identity.timeline()),
                lsn(context.position().getAsLong()), context.database()));
        out.commandComplete("IDENTIFY_SYSTEM");
    }

    private void createSlot(CreateSlot create, WireWriter out) throws IOException, CommandError {
        requireValidName(create.name());
        if (!"pgoutput".equals(create.plugin())) {
            throw new CommandError("0A000", "output plugin \"" + create.plugin() + "\" is not available: the pgrelay feed serves pgoutput");
        }
        DownstreamSnapshot snapshot = create.exportSnapshot() ? exportSnapshot() : null;
        try {
            long position = snapshot != null ? snapshot.checkpoint().endLsn().asLong() : context.position().getAsLong();
            if (!context.slots().create(create.name(), position, create.temporary())) {
                throw new CommandError("42710", "replication slot \"" + create.name() + "\" already exists");
            }
            if (create.temporary()) {
                server.ownTemporarySlot(session, create.name());
            }
            if (snapshot != null) {
                requireRetained(create.name(), position);
            }
            log.info("feed slot {} created at {} by {}{}", create.name(), lsn(position), session.client(),
                    snapshot == null ? "" : ", exporting snapshot " + snapshot.name() + " of the downstream");
            out.rowDescription(FeedSession.fields("slot_name", WireWriter.TEXT, "consistent_point", WireWriter.TEXT,
                    "snapshot_name", WireWriter.TEXT, "output_plugin", WireWriter.TEXT));
            out.dataRow(Arrays.asList(create.name(), lsn(position), snapshot == null ? null : snapshot.name(), "pgoutput"));
            out.commandComplete("CREATE_REPLICATION_SLOT");
            exported = snapshot;
            snapshot = null;
        } finally {
            if (snapshot != null) {
                snapshot.close();
            }
        }
    }

    /**
     * A snapshot of this relay's downstream and the checkpoint it contains: the new slot starts
     * exactly there, so a child that copies under the snapshot and then streams misses nothing.
     */
    private DownstreamSnapshot exportSnapshot() throws CommandError {
        if (context.snapshots() == null) {
            throw new CommandError("0A000", "this feed cannot export snapshots");
        }
        DownstreamSnapshot snapshot;
        try {
            snapshot = context.snapshots().export();
        } catch (java.sql.SQLException e) {
            // 57P03 (cannot_connect_now): the child retries, as when the parent's downstream is back.
            throw new CommandError("57P03", "cannot export a snapshot of the relay's downstream: " + e.getMessage());
        }
        if (snapshot.checkpoint().isNone()) {
            snapshot.close();
            throw new CommandError("57P03", "the relay has applied nothing to its downstream yet, so there is no "
                    + "snapshot to copy from: try again once it streams");
        }
        if (snapshot.copiesAhead()) {
            snapshot.close();
            throw new CommandError("57P03", "the relay's resumed initial copy holds tables ahead of its checkpoint "
                    + "until it has applied past them: try again shortly");
        }
        return snapshot;
    }

    /** The changelog must still hold everything after the slot's start; else the slot is useless. */
    private void requireRetained(String slot, long position) throws IOException, CommandError {
        try {
            context.changelog().openReader(position).close();
        } catch (ChangelogPositionLostException e) {
            context.slots().drop(slot);
            throw new CommandError("57P03", "the changelog no longer holds the downstream's checkpoint "
                    + lsn(position) + ": try again (" + e.getMessage() + ")");
        }
    }

    /** Ends the transaction that kept the last exported snapshot alive. */
    void releaseSnapshot() {
        if (exported != null) {
            exported.close();
            exported = null;
        }
    }

    private void dropSlot(DropSlot drop, WireWriter out) throws IOException, CommandError {
        if (server.isActive(drop.name()) && !(drop.waitForRelease() && server.awaitInactive(drop.name(), context.timeout()))) {
            throw new CommandError("55006", "replication slot \"" + drop.name() + "\" is active");
        }
        if (!context.slots().drop(drop.name())) {
            throw new CommandError("42704", "replication slot \"" + drop.name() + "\" does not exist");
        }
        log.info("feed slot {} dropped by {}", drop.name(), session.client());
        out.commandComplete("DROP_REPLICATION_SLOT");
    }

    private void startReplication(StartReplication start, WireWriter out, WireReader in)
            throws IOException, ProtocolException, CommandError {
        FeedSlot slot = context.slots().get(start.slot()).orElseThrow(() ->
                new CommandError("42704", "replication slot \"" + start.slot() + "\" does not exist"));
        if (slot.lost()) {
            throw new CommandError("55000", "can no longer get changes from replication slot \"" + slot.name()
                    + "\": it fell behind feed.max-retained-bytes and was invalidated (wal_status = lost); "
                    + "drop it and create it again, then re-sync its consumer");
        }
        boolean messages = checkOptions(start);
        if (!server.activate(slot.name(), session)) {
            throw new CommandError("55006", "replication slot \"" + slot.name() + "\" is active for another client");
        }
        try {
            long from = Long.compareUnsigned(start.startLsn(), slot.confirmedLsn()) > 0 ? start.startLsn() : slot.confirmedLsn();
            FeedStreamer streamer;
            try {
                streamer = new FeedStreamer(context, slot.name(), from, messages, out, in, session.client(),
                        server.timer(), session::closeQuietly);
            } catch (ChangelogPositionLostException e) {
                context.slots().markLost(List.of(slot.name()));
                throw new CommandError("55000", "can no longer get changes from replication slot \"" + slot.name()
                        + "\": " + e.getMessage());
            }
            streamer.run();
            out.commandComplete("START_STREAMING");
        } finally {
            server.deactivate(slot.name(), session);
        }
    }

    /** Checks the pgoutput options; returns whether logical messages were asked for. */
    private boolean checkOptions(StartReplication start) throws CommandError {
        String proto = start.options().get("proto_version");
        if (proto == null || !SUPPORTED_PROTO_VERSIONS.contains(proto)) {
            throw new CommandError("0A000", "client sent proto_version=" + proto + " but the pgrelay feed supports 1 to 4");
        }
        String names = start.options().get("publication_names");
        if (names == null) {
            throw new CommandError("22023", "publication_names parameter missing");
        }
        Set<String> requested = publicationNames(names);
        if (!requested.equals(context.publications())) {
            List<String> unknown = new ArrayList<>(requested);
            unknown.removeAll(context.publications());
            throw new CommandError("42704", (unknown.isEmpty() ? "" : "publication \"" + String.join("\", \"", unknown)
                    + "\" does not exist on this feed; ") + "this feed serves exactly the publications "
                    + String.join(", ", context.publications()) + ": ask for those");
        }
        if ("true".equalsIgnoreCase(start.options().getOrDefault("binary", "false"))) {
            throw new CommandError("0A000", "binary transfer is not supported by the pgrelay feed: subscribe without binary");
        }
        return "true".equalsIgnoreCase(start.options().getOrDefault("messages", "false"));
    }

    /** Splits publication_names like PostgreSQL's SplitIdentifierString. */
    static Set<String> publicationNames(String list) throws CommandError {
        Set<String> names = new LinkedHashSet<>();
        int i = 0;
        while (i < list.length()) {
            while (i < list.length() && Character.isWhitespace(list.charAt(i))) {
                i++;
            }
            StringBuilder name = new StringBuilder();
            if (i < list.length() && list.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= list.length()) {
                        throw new CommandError("42601", "unterminated quoted publication name in publication_names");
                    }
                    char c = list.charAt(i++);
                    if (c == '"') {
                        if (i < list.length() && list.charAt(i) == '"') {
                            name.append('"');
                            i++;
                            continue;
                        }
                        break;
                    }
                    name.append(c);
                }
            } else {
                while (i < list.length() && list.charAt(i) != ',' && !Character.isWhitespace(list.charAt(i))) {
                    name.append(Character.toLowerCase(list.charAt(i++)));
                }
            }
            while (i < list.length() && Character.isWhitespace(list.charAt(i))) {
                i++;
            }
            if (i < list.length() && list.charAt(i++) != ',') {
                throw new CommandError("42601", "invalid list syntax in publication_names");
            }
            if (name.length() == 0) {
                throw new CommandError("42601", "empty publication name in publication_names");
            }
            names.add(name.toString());
        }
        return names;
    }

    private void show(Show show, WireWriter out) throws IOException, CommandError {
        String value = switch (show.setting()) {
            case "data_directory_mode" -> "0700";
            case "server_version" -> FeedContext.SERVER_VERSION;
            case "server_version_num" -> "150000";
            case "wal_segment_size" -> "16MB";
            case "server_encoding", "client_encoding" -> "UTF8";
            default -> throw new CommandError("42704", "unrecognized configuration parameter \"" + show.setting() + "\"");
        };
        out.rowDescription(FeedSession.fields(show.setting(), WireWriter.TEXT));
        out.dataRow(List.of(value));
        out.commandComplete("SHOW");
    }

    private void sql(Sql sql, WireWriter out) throws IOException, CommandError {
        String text = sql.text();
        if (SET_SEARCH_PATH.matcher(text).matches()) {
            out.rowDescription(FeedSession.fields("set_config", WireWriter.TEXT));
            out.dataRow(List.of(""));
            out.commandComplete("SELECT 1");
            return;
        }
        if (SELECT_PUBLICATIONS.matcher(text).matches()) {
            out.rowDescription(FeedSession.fields("pubname", WireWriter.TEXT));
            for (String publication : context.publications()) {
                out.dataRow(List.of(publication));
            }
            out.commandComplete("SELECT " + context.publications().size());
            return;
        }
        if (SlotListQuery.matches(text)) {
            SlotListQuery.write(context.slots().all(), context.changelog().endLsn(), server::isStreaming, out);
            return;
        }
        throw new CommandError("0A000", "the pgrelay feed does not run SQL, only replication commands and a few fixed queries: "
                + text.substring(0, Math.min(80, text.length())).toLowerCase(Locale.ROOT).replaceAll("\\s+", " "));
    }

    private static void requireValidName(String name) throws CommandError {
        if (!FeedSlots.isValidName(name)) {
            throw new CommandError("42602", "replication slot name \"" + name
                    + "\" contains invalid character: use lower-case letters, digits and underscores (1-63)");
        }
    }

    private static String lsn(long value) {
        return LogSequenceNumber.valueOf(value).asString();
    }
}
