package io.pgrelay.feed.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The server side against an independent client computation of RFC 5802. */
@Timeout(10)
class ScramServerTest {

    private static final String CLIENT_FIRST_BARE = "n=,r=clientnonce123";

    @Test
    void rightPasswordIsAcceptedAndTheServerProvesItself() throws Exception {
        ScramServer.Exchange exchange = ScramServer.start(ScramServer.Credentials.fromPassword("s3cret"));
        String serverFirst = new String(exchange.serverFirst(bytes("n,," + CLIENT_FIRST_BARE)), StandardCharsets.UTF_8);
        Client client = new Client("s3cret", serverFirst);
        byte[] serverFinal = exchange.serverFinal(bytes(client.finalMessage()));
        assertEquals("v=" + client.expectedServerSignature(), new String(serverFinal, StandardCharsets.UTF_8));
    }

    @Test
    void wrongPasswordIs28P01() throws Exception {
        ScramServer.Exchange exchange = ScramServer.start(ScramServer.Credentials.fromPassword("s3cret"));
        String serverFirst = new String(exchange.serverFirst(bytes("n,," + CLIENT_FIRST_BARE)), StandardCharsets.UTF_8);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> exchange.serverFinal(bytes(new Client("wrong", serverFirst).finalMessage())));
        assertEquals("28P01", e.sqlState());
    }

    @Test
    void malformedAndChannelBindingRequestsAreRefused() {
        ScramServer.Exchange exchange = ScramServer.start(ScramServer.Credentials.fromPassword("x"));
        assertEquals("28000", assertThrows(ProtocolException.class,
                () -> exchange.serverFirst(bytes("p=tls-server-end-point,," + CLIENT_FIRST_BARE))).sqlState());
        assertEquals("08P01", assertThrows(ProtocolException.class, () -> exchange.serverFirst(bytes("garbage"))).sqlState());
        assertEquals("08P01", assertThrows(ProtocolException.class,
                () -> ScramServer.start(ScramServer.Credentials.fromPassword("x")).serverFinal(bytes("c=biws,r=x,p=AAAA"))).sqlState());
    }

    @Test
    void credentialsNeverShowThePassword() {
        assertFalse(ScramServer.Credentials.fromPassword("s3cret").toString().contains("s3cret"));
    }

    /** A client written from the RFC, independent of the server code. */
    private record Client(String password, String serverFirst) {
        String attribute(char name) {
            for (String part : serverFirst.split(",")) {
                if (part.charAt(0) == name) {
                    return part.substring(2);
                }
            }
            throw new AssertionError(name);
        }

        String withoutProof() {
            return "c=biws,r=" + attribute('r');
        }

        String authMessage() {
            return CLIENT_FIRST_BARE + "," + serverFirst + "," + withoutProof();
        }

        byte[] saltedPassword() throws Exception {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(new PBEKeySpec(password.toCharArray(),
                    Base64.getDecoder().decode(attribute('s')), Integer.parseInt(attribute('i')), 256)).getEncoded();
        }

        String finalMessage() throws Exception {
            byte[] clientKey = hmac(saltedPassword(), "Client Key");
            byte[] signature = hmac(MessageDigest.getInstance("SHA-256").digest(clientKey), authMessage());
            byte[] proof = new byte[clientKey.length];
            for (int i = 0; i < proof.length; i++) {
                proof[i] = (byte) (clientKey[i] ^ signature[i]);
            }
            return withoutProof() + ",p=" + Base64.getEncoder().encodeToString(proof);
        }

        String expectedServerSignature() throws Exception {
            return Base64.getEncoder().encodeToString(hmac(hmac(saltedPassword(), "Server Key"), authMessage()));
        }
    }

    private static byte[] hmac(byte[] key, String message) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(bytes(message));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
