package io.pgrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.decode.MalformedMessageException;
import java.io.EOFException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class FailureClassifierTest {

    @Test
    void waitingCanFixConnectionTrouble() {
        for (String state : new String[] {"08006", "08001", "57P01", "53300", "55006", "40P01", "40001"}) {
            assertFalse(FailureClassifier.isPermanent(new SQLException("x", state)), state);
        }
        assertFalse(FailureClassifier.isPermanent(new SQLException("io", (String) null, new EOFException())));
    }

    @Test
    void anOperatorMustFixTheRest() {
        for (String state : new String[] {"28P01", "28000", "3D000", "42501", "42704", "55000", "58P01", "0A000"}) {
            assertTrue(FailureClassifier.isPermanent(new SQLException("x", state)), state);
        }
        assertTrue(FailureClassifier.isPermanent(new MalformedMessageException("bad")));
        assertTrue(FailureClassifier.isPermanent(new io.pgrelay.schema.SchemaException("table t: column c differs")));
        assertTrue(FailureClassifier.isPermanent(new IllegalStateException("bug")));
    }

    @Test
    void sslThatCannotWorkIsPermanentAndSaysWhy() {
        SQLException noSsl = new SQLException("The server does not support SSL.", "08004");
        assertTrue(FailureClassifier.isPermanent(noSsl));
        assertTrue(FailureClassifier.advice(Side.UPSTREAM, noSsl).contains("sslmode in upstream.url"),
                FailureClassifier.advice(Side.UPSTREAM, noSsl));
        SQLException badCert = new SQLException("SSL error: PKIX path building failed", "08006",
                new javax.net.ssl.SSLHandshakeException("PKIX path building failed"));
        badCert.getCause().initCause(new java.security.cert.CertificateException("unable to find valid certification path"));
        assertTrue(FailureClassifier.isPermanent(badCert));
        assertTrue(FailureClassifier.advice(Side.DOWNSTREAM, badCert).contains("sslrootcert"));
        SQLException cut = new SQLException("SSL error: Remote host terminated the handshake", "08006",
                new javax.net.ssl.SSLHandshakeException("Remote host terminated the handshake"));
        assertFalse(FailureClassifier.isPermanent(cut), "a handshake cut by the network is retried");
    }

    @Test
    void findsTheStateThatHikariWraps() {
        SQLException driver = new SQLException("password authentication failed for user \"x\"", "28P01");
        SQLTransientConnectionException pool = new SQLTransientConnectionException("pool timeout", "28P01", driver);
        assertEquals("28P01", FailureClassifier.sqlState(new RuntimeException(pool)));
        assertTrue(FailureClassifier.isPermanent(pool));
        assertTrue(FailureClassifier.advice(Side.UPSTREAM, pool).contains("upstream.password"));
        assertNull(FailureClassifier.advice(Side.UPSTREAM, new SQLException("x", "08006")));
        assertEquals("password authentication failed for user \"x\"", FailureClassifier.describe(pool),
                "the driver's words, not the pool's timeout");
    }

    @Test
    void describesInOneLine() {
        SQLException e = new SQLException("first line\n  Detail: second", "23505");
        assertEquals("first line", FailureClassifier.describe(new RuntimeException("wrapper", e)));
    }
}
