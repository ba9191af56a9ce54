package io.pgrelay.relay;

import io.pgrelay.apply.ApplyException;
import io.pgrelay.checkpoint.CheckpointConflictException;
import io.pgrelay.decode.MalformedMessageException;
import java.sql.SQLException;
import java.util.Set;

/**
 * Decides whether a failure is worth a reconnect or needs an operator. Permanent: bad
 * credentials or privileges (class 28, 42501), objects that do not exist (publication,
 * database, downstream table), server settings (wal_level), refused data, protocol errors.
 * Everything else (connection loss, shutdown, slot in use, too many connections, deadlock) is
 * retried with backoff: waiting can fix it.
 */
final class FailureClassifier {

    private static final Set<String> PERMANENT_CLASSES = Set.of("28", "3D", "42", "0A", "22", "23", "58");
    private static final Set<String> PERMANENT_STATES = Set.of(
            "55000", // object_not_in_prerequisite_state: wal_level, slot of another database
            "XX001", "XX002"); // data or index corrupted

    private FailureClassifier() {}

    static boolean isPermanent(Throwable failure) {
        if (failure instanceof ApplyException || failure instanceof CheckpointConflictException
                || failure instanceof MalformedMessageException
                || failure instanceof io.pgrelay.schema.SchemaException
                || failure instanceof io.pgrelay.feed.ChangelogFailedException
                || failure instanceof io.pgrelay.sync.SyncException) {
            return true;
        }
        if (sslMismatch(failure) != null) {
            return true;
        }
        String state = sqlState(failure);
        if (state == null) {
            // I/O errors without a state are connection trouble; programming errors are not.
            return !(firstSqlException(failure) != null || hasIoCause(failure));
        }
        return PERMANENT_STATES.contains(state) || PERMANENT_CLASSES.contains(state.substring(0, 2));
    }

    /** The first SQLSTATE in the cause chain (Hikari wraps the driver's error). */
    static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().length() == 5) {
                return sql.getSQLState();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    private static SQLException firstSqlException(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                return sql;
            }
        }
        return null;
    }

    private static boolean hasIoCause(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The innermost useful message, one line: the deepest SQLException that carries a state is
     * the server's or the driver's own words (pools wrap it in their timeout message).
     */
    static String describe(Throwable failure) {
        Throwable best = failure;
        if (!(failure instanceof ApplyException)) {
            for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
                if (t instanceof SQLException sql && sql.getSQLState() != null && t.getMessage() != null) {
                    best = t;
                }
            }
        }
        String message = best.getMessage() == null ? best.getClass().getSimpleName() : best.getMessage();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /**
     * The TLS setup cannot work, whatever the wait: the URL asks for SSL and the server has none
     * (pgjdbc's 08004), or the server's certificate fails the URL's sslmode=verify-ca/verify-full
     * checks. Returns the fix, or null for anything else (a handshake cut by the network is retried).
     */
    static String sslMismatch(Throwable failure) {
        String state = sqlState(failure);
        String message = describe(failure);
        if ("08004".equals(state) && message.contains("SSL")) {
            return "the server does not accept SSL: turn ssl on there, or change sslmode in the URL";
        }
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException || t instanceof java.security.cert.CertPathValidatorException
                    || t instanceof javax.net.ssl.SSLPeerUnverifiedException
                    || (t.getMessage() != null && t.getMessage().contains("could not be verified by hostnameverifier"))) {
                return "the server's certificate does not pass the URL's sslmode checks: check sslrootcert "
                        + "(the CA that signed it) and that the certificate names the host in the URL";
            }
        }
        return null;
    }

    /** How to fix a permanent failure, or null when the message says it already. */
    static String advice(Side side, Throwable failure) {
        String ssl = sslMismatch(failure);
        if (ssl != null) {
            return ssl.replace("the URL", side + ".url");
        }
        String state = sqlState(failure);
        if (state == null || failure instanceof ApplyException) {
            return null;
        }
        if (state.startsWith("28")) {
            return "check " + side + ".user and " + side + ".password, and pg_hba.conf on the " + side + " server";
        }
        return switch (state) {
            case "3D000" -> "check the database name in " + side + ".url";
            case "42501" -> side == Side.UPSTREAM
                    ? "use an upstream role with the REPLICATION attribute (ALTER ROLE ... REPLICATION)"
                    : "grant the downstream role INSERT, UPDATE, DELETE, TRUNCATE on the tables and CREATE on the database";
            // 55000 is also the state of an invalidated slot, whose own message says what to do.
            case "55000" -> describe(failure).contains("can no longer get changes") ? null
                    : "set wal_level=logical on the upstream, and use a slot created in the database of upstream.url";
            case "58P01" -> describe(failure).contains("pgoutput") ? "the pgoutput plugin is missing on the upstream server" : null;
            default -> null;
        };
    }
}
