package io.pgrelay.fuzz;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Valid feed client sessions as wire frames, the seed corpus of the unit-level fuzz tests. They
 * follow what pgjdbc's replication API and pg_recvlogical send (FeedFuzzIT records the real
 * ones): startup packet, optional SSLRequest or SCRAM exchange, the replication commands, then
 * standby status updates inside CopyData.
 */
public final class ClientSessions {

    public static final int PROTOCOL_3_0 = 196_608;
    public static final int SSL_REQUEST = 80_877_103;
    public static final int CANCEL_REQUEST = 80_877_102;

    private ClientSessions() {}

    /** Sessions for a feed that trusts loopback clients: user {@code user}, slot {@code slot}, publication {@code pub}. */
    public static List<List<byte[]>> trusted(String user, String slot, String pub) {
        List<List<byte[]>> sessions = new ArrayList<>();
        sessions.add(List.of(pgjdbcStartup(user), query("IDENTIFY_SYSTEM"),
                query("CREATE_REPLICATION_SLOT \"" + slot + "_tmp\" TEMPORARY LOGICAL pgoutput"),
                query("START_REPLICATION SLOT \"" + slot + "\" LOGICAL 0/0 (\"proto_version\" '1', \"publication_names\" '" + pub + "')"),
                standby(0x1000, true), standby(0x2000, false), hotStandby(), copyDone(), terminate()));
        sessions.add(List.of(recvlogicalStartup(user), query("SELECT pg_catalog.set_config('search_path', '', false);"),
                query("IDENTIFY_SYSTEM"), query("SHOW data_directory_mode"),
                query("START_REPLICATION SLOT \"" + slot + "\" LOGICAL 0/0 (\"proto_version\" '1', \"publication_names\" '\"" + pub + "\"')"),
                standby(0, false), standby(0x3000, true), terminate()));
        sessions.add(List.of(sslRequest(), pgjdbcStartup(user), query("DROP_REPLICATION_SLOT \"nosuch\" WAIT"),
                query("SELECT pubname FROM pg_catalog.pg_publication"), query(""), terminate()));
        sessions.add(List.of(cancel(1, 42)));
        return sessions;
    }

    /** A session that logs in with SCRAM-SHA-256 (the proof is wrong: the server nonce differs per run). */
    public static List<byte[]> scram(String user) {
        String clientFirst = "n,,n=,r=fyko+d2lbbFgONRv9qkxdawL";
        byte[] mechanism = "SCRAM-SHA-256\0".getBytes(StandardCharsets.UTF_8);
        byte[] first = clientFirst.getBytes(StandardCharsets.UTF_8);
        byte[] initial = ByteBuffer.allocate(mechanism.length + 4 + first.length).put(mechanism).putInt(first.length).put(first).array();
        byte[] last = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
                .getBytes(StandardCharsets.UTF_8);
        return List.of(pgjdbcStartup(user), Mutator.frame((byte) 'p', initial), Mutator.frame((byte) 'p', last), query("IDENTIFY_SYSTEM"),
                terminate());
    }

    public static byte[] pgjdbcStartup(String user) {
        return startup("user", user, "database", "db", "client_encoding", "UTF8", "DateStyle", "ISO", "TimeZone", "UTC",
                "extra_float_digits", "2", "replication", "database", "assumeMinServerVersion", "9.4", "application_name",
                "PostgreSQL JDBC Driver");
    }

    public static byte[] recvlogicalStartup(String user) {
        return startup("user", user, "database", "db", "replication", "database", "application_name", "pg_recvlogical",
                "fallback_application_name", "pg_recvlogical");
    }

    public static byte[] startup(String... nameValues) {
        StringBuilder body = new StringBuilder();
        for (String part : nameValues) {
            body.append(part).append('\0');
        }
        body.append('\0');
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + bytes.length).putInt(8 + bytes.length).putInt(PROTOCOL_3_0).put(bytes).array();
    }

    public static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(SSL_REQUEST).array();
    }

    public static byte[] cancel(int processId, int secret) {
        return ByteBuffer.allocate(16).putInt(16).putInt(CANCEL_REQUEST).putInt(processId).putInt(secret).array();
    }

    public static byte[] query(String sql) {
        return Mutator.frame((byte) 'Q', (sql + "\0").getBytes(StandardCharsets.UTF_8));
    }

    /** A standby status update ('r'): written, flushed, applied, clock, reply-requested. */
    public static byte[] standby(long lsn, boolean replyRequested) {
        byte[] body = ByteBuffer.allocate(34).put((byte) 'r').putLong(lsn).putLong(lsn).putLong(lsn).putLong(0)
                .put((byte) (replyRequested ? 1 : 0)).array();
        return Mutator.frame((byte) 'd', body);
    }

    /** A hot-standby feedback message ('h'). */
    public static byte[] hotStandby() {
        return Mutator.frame((byte) 'd', ByteBuffer.allocate(21).put((byte) 'h').putLong(0).putInt(0).putInt(0).putInt(0).array());
    }

    public static byte[] copyDone() {
        return Mutator.frame((byte) 'c', new byte[0]);
    }

    public static byte[] terminate() {
        return Mutator.frame((byte) 'X', new byte[0]);
    }
}
