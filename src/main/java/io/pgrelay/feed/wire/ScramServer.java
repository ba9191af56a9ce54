package io.pgrelay.feed.wire;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel
 * binding offered, the user name taken from the startup packet, not from the SCRAM exchange.
 *
 * <p>{@link Credentials} are derived once from the configured password with a random salt; the
 * password itself is not kept. One {@link Exchange} per login attempt.
 */
public final class ScramServer {

    public static final String MECHANISM = "SCRAM-SHA-256";
    private static final int ITERATIONS = 4096;
    private static final SecureRandom RANDOM = new SecureRandom();

    private ScramServer() {}

    /** What the server stores for one user: salt, iteration count, StoredKey and ServerKey. */
    public static final class Credentials {
        private final byte[] salt;
        private final int iterations;
        private final byte[] storedKey;
        private final byte[] serverKey;

        private Credentials(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {
            this.salt = salt;
            this.iterations = iterations;
            this.storedKey = storedKey;
            this.serverKey = serverKey;
        }

        public static Credentials fromPassword(String password) {
            byte[] salt = new byte[16];
            RANDOM.nextBytes(salt);
            byte[] salted = pbkdf2(password, salt, ITERATIONS);
            return new Credentials(salt, ITERATIONS, sha256(hmac(salted, "Client Key")), hmac(salted, "Server Key"));
        }

        @Override
        public String toString() {
            return "Credentials[SCRAM-SHA-256]";
        }
    }

    public static Exchange start(Credentials credentials) {
        return new Exchange(credentials);
    }

    /** One authentication conversation: client-first → server-first → client-final → server-final. */
    public static final class Exchange {
        private final Credentials credentials;
        private String clientFirstBare;
        private String serverFirst;
        private String nonce;
        private String gs2Header;

        private Exchange(Credentials credentials) {
            this.credentials = credentials;
        }

        /** Takes the client-first-message, returns the server-first-message. */
        public byte[] serverFirst(byte[] clientFirstMessage) throws ProtocolException {
            String message = new String(clientFirstMessage, StandardCharsets.UTF_8);
            if (message.startsWith("p=")) {
                throw new ProtocolException("28000", "channel binding is not supported: use SCRAM-SHA-256 without -PLUS");
            }
            if (!message.startsWith("n,") && !message.startsWith("y,")) {
                throw new ProtocolException("08P01", "malformed SCRAM client-first-message");
            }
            int bareStart = message.indexOf(',', 2);
            if (bareStart < 0) {
                throw new ProtocolException("08P01", "malformed SCRAM client-first-message");
            }
            gs2Header = message.substring(0, bareStart + 1);
            clientFirstBare = message.substring(bareStart + 1);
            String clientNonce = attribute(clientFirstBare, 'r');
            byte[] serverNonce = new byte[18];
            RANDOM.nextBytes(serverNonce);
            nonce = clientNonce + Base64.getEncoder().encodeToString(serverNonce);
            serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(credentials.salt)
                    + ",i=" + credentials.iterations;
            return serverFirst.getBytes(StandardCharsets.UTF_8);
        }

        /**
         * Takes the client-final-message; returns the server-final-message when the proof is right.
         *
         * @throws ProtocolException SQLSTATE 28P01 when the password is wrong
         */
        public byte[] serverFinal(byte[] clientFinalMessage) throws ProtocolException {
            if (serverFirst == null) {
                throw new ProtocolException("08P01", "SCRAM client-final-message before client-first-message");
            }
            String message = new String(clientFinalMessage, StandardCharsets.UTF_8);
            int proofAt = message.lastIndexOf(",p=");
            if (proofAt < 0) {
                throw new ProtocolException("08P01", "malformed SCRAM client-final-message");
            }
            String withoutProof = message.substring(0, proofAt);
            String channelBinding = new String(decode(attribute(withoutProof, 'c')), StandardCharsets.UTF_8);
            if (!channelBinding.equals(gs2Header) || !nonce.equals(attribute(withoutProof, 'r'))) {
                throw new ProtocolException("08P01", "SCRAM nonce or channel binding mismatch");
            }
            byte[] proof = decode(message.substring(proofAt + 3));
            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
            byte[] clientSignature = hmac(credentials.storedKey, authMessage);
            if (proof.length != clientSignature.length) {
                throw wrongPassword();
            }
            byte[] clientKey = new byte[proof.length];
            for (int i = 0; i < proof.length; i++) {
                clientKey[i] = (byte) (proof[i] ^ clientSignature[i]);
            }
            if (!MessageDigest.isEqual(sha256(clientKey), credentials.storedKey)) {
                throw wrongPassword();
            }
            String serverSignature = Base64.getEncoder().encodeToString(hmac(credentials.serverKey, authMessage));
            return ("v=" + serverSignature).getBytes(StandardCharsets.UTF_8);
        }

        private static ProtocolException wrongPassword() {
            return new ProtocolException("28P01", "password authentication failed");
        }
    }

    private static String attribute(String message, char name) throws ProtocolException {
        for (String part : message.split(",")) {
            if (part.length() >= 2 && part.charAt(0) == name && part.charAt(1) == '=') {
                return part.substring(2);
            }
        }
        throw new ProtocolException("08P01", "SCRAM message lacks attribute " + name);
    }

    private static byte[] decode(String base64) throws ProtocolException {
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new ProtocolException("08P01", "malformed base64 in SCRAM message");
        }
    }

    private static byte[] pbkdf2(String password, byte[] salt, int iterations) {
        try {
            SecretKeyFactory factory = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            return factory.generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 unavailable", e);
        }
    }

    private static byte[] hmac(byte[] key, String message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }
}
