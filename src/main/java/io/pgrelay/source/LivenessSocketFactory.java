package io.pgrelay.source;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.SocketFactory;

/**
 * The socket factory pgjdbc uses for the upstream replication connection (its
 * {@code socketFactory} property; {@code socketFactoryArg} names the {@link UpstreamLiveness}
 * to tell). Plain sockets whose input stream records the time of every read that returns bytes;
 * TLS is layered on top by pgjdbc and reads through it.
 */
public final class LivenessSocketFactory extends SocketFactory {

    private final UpstreamLiveness liveness;

    /** Called by pgjdbc with the {@code socketFactoryArg} value. */
    public LivenessSocketFactory(String key) {
        this.liveness = UpstreamLiveness.forKey(key);
    }

    @Override
    public Socket createSocket() {
        return new ObservedSocket(liveness);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        Socket socket = createSocket();
        socket.connect(new java.net.InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new java.net.InetSocketAddress(localHost, localPort));
        socket.connect(new java.net.InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        Socket socket = createSocket();
        socket.connect(new java.net.InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new java.net.InetSocketAddress(localAddress, localPort));
        socket.connect(new java.net.InetSocketAddress(address, port));
        return socket;
    }

    private static final class ObservedSocket extends Socket {
        private final UpstreamLiveness liveness;
        private InputStream in;

        ObservedSocket(UpstreamLiveness liveness) {
            this.liveness = liveness;
        }

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                in = new ObservedInput(super.getInputStream(), liveness);
            }
            return in;
        }
    }

    private static final class ObservedInput extends FilterInputStream {
        private final UpstreamLiveness liveness;

        ObservedInput(InputStream in, UpstreamLiveness liveness) {
            super(in);
            this.liveness = liveness;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                liveness.heard();
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                liveness.heard();
            }
            return n;
        }
    }
}
