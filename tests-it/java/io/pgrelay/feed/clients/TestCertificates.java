package io.pgrelay.feed.clients;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away self-signed certificate and key for the feed's TLS, made at test time: with
 * {@code openssl} when it is installed, otherwise with the JDK's {@code keytool} (always there),
 * so no key material is committed. The key is written as unencrypted PKCS#8 PEM, which is what
 * {@code feed.tls.key} takes.
 */
public final class TestCertificates {

    /** Where the PEM files are and the certificate itself, for clients that trust exactly it. */
    public record Pair(Path certificate, Path key, X509Certificate x509) {}

    private TestCertificates() {}

    public static Pair generate(Path dir) throws IOException, InterruptedException, GeneralSecurityException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        if (!withOpenssl(dir, cert, key)) {
            withKeytool(dir, cert, key);
        }
        if (!Files.readString(key).contains("-----BEGIN PRIVATE KEY-----")) {
            // An older openssl writes PKCS#1 ("BEGIN RSA PRIVATE KEY"): convert.
            Path pkcs8 = dir.resolve("key.pk8.pem");
            run(dir, List.of("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", key.toString(), "-out", pkcs8.toString()));
            key = pkcs8;
        }
        X509Certificate x509;
        try (InputStream in = Files.newInputStream(cert)) {
            x509 = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        return new Pair(cert, key, x509);
    }

    private static boolean withOpenssl(Path dir, Path cert, Path key) throws InterruptedException {
        try {
            return run(dir, List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(),
                    "-out", cert.toString(), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")) && Files.size(cert) > 0 && Files.size(key) > 0;
        } catch (IOException e) {
            return false; // no openssl
        }
    }

    private static void withKeytool(Path dir, Path cert, Path key) throws IOException, InterruptedException,
            GeneralSecurityException {
        Path store = dir.resolve("feed.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        char[] password = "changeit".toCharArray();
        if (!run(dir, List.of(keytool, "-genkeypair", "-alias", "feed", "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "1", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit"))) {
            throw new IOException("neither openssl nor keytool could make a test certificate");
        }
        KeyStore keyStore = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keyStore.load(in, password);
        }
        Key privateKey = keyStore.getKey("feed", password);
        X509Certificate certificate = (X509Certificate) keyStore.getCertificate("feed");
        Files.writeString(key, pem("PRIVATE KEY", privateKey.getEncoded()));
        Files.writeString(cert, pem("CERTIFICATE", certificate.getEncoded()));
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(Files.readAllBytes(cert)));
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    /** True when the command ran and exited 0 within 60 s; IOException when it cannot be started. */
    private static boolean run(Path dir, List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("cert-tool.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return false;
        }
        return process.exitValue() == 0;
    }
}
