package io.pgrelay.feed.clients;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * An {@code sslfactory} for pgjdbc that trusts exactly {@link #trusted} (the test's self-signed
 * certificate) and records every socket it makes, so a test can check that the connection was
 * really encrypted, with which protocol, and to whom. pgjdbc instantiates it by class name.
 */
public final class RecordingSslFactory extends SSLSocketFactory {

    static volatile X509Certificate trusted;
    static final List<SSLSocket> SOCKETS = new CopyOnWriteArrayList<>();

    private final SSLSocketFactory delegate;

    public RecordingSslFactory() throws GeneralSecurityException {
        X509Certificate only = trusted;
        if (only == null) {
            throw new IllegalStateException("RecordingSslFactory.trusted is not set");
        }
        TrustManager trustOnlyTheTestCertificate = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                throw new CertificateException("not a server");
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                if (chain == null || chain.length == 0 || !chain[0].equals(only)) {
                    throw new CertificateException("the feed did not present the test certificate");
                }
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[] {only};
            }
        };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {trustOnlyTheTestCertificate}, null);
        this.delegate = context.getSocketFactory();
    }

    private Socket record(Socket socket) {
        SOCKETS.add((SSLSocket) socket);
        return socket;
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
        return record(delegate.createSocket(s, host, port, autoClose));
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return record(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return record(delegate.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return record(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return record(delegate.createSocket(address, port, localAddress, localPort));
    }

    @Override
    public String[] getDefaultCipherSuites() {
        return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return delegate.getSupportedCipherSuites();
    }
}
