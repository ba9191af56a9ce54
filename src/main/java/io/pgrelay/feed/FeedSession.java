package io.pgrelay.feed;

import io.pgrelay.feed.wire.FrontendMessage;
import io.pgrelay.feed.wire.ProtocolException;
import io.pgrelay.feed.wire.ScramServer;
import io.pgrelay.feed.wire.StartupPacket;
import io.pgrelay.feed.wire.WireReader;
import io.pgrelay.feed.wire.WireWriter;
import io.pgrelay.feed.wire.WireWriter.Field;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of the feed: startup, authentication, then replication commands until the client
 * leaves. Runs on its own thread; a broken or hostile client ends only this session.
 */
final class FeedSession implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(FeedSession.class);
    private static final int HANDSHAKE_TIMEOUT_MILLIS = 30_000;
    /** The whole startup and login, like PostgreSQL's authentication_timeout: no slow drip holds a slot. */
    static final long HANDSHAKE_DEADLINE_MILLIS = 60_000;

    private final FeedContext context;
    private final FeedServer server;
    private final int processId;
    private final int secretKey;
    private Socket socket;
    private WireReader in;
    private WireWriter out;
    private String client;

    FeedSession(Socket socket, FeedContext context, FeedServer server, int processId, int secretKey) {
        this.socket = socket;
        this.context = context;
        this.server = server;
        this.processId = processId;
        this.secretKey = secretKey;
        this.client = socket.getRemoteSocketAddress().toString();
    }

    @Override
    public void run() {
        ScheduledFuture<?> deadline = null;
        try {
            socket.setSoTimeout(HANDSHAKE_TIMEOUT_MILLIS);
            socket.setTcpNoDelay(true);
            streams();
            deadline = server.closeUnlessCancelled(this, HANDSHAKE_DEADLINE_MILLIS);
            boolean ready = handshake();
            deadline.cancel(false);
            if (!ready) {
                return;
            }
            socket.setSoTimeout(0);
            commandLoop();
        } catch (ProtocolException e) {
            log.info("feed client {} refused: {} (SQLSTATE {})", client, e.getMessage(), e.sqlState());
            fatal(e.sqlState(), e.getMessage());
        } catch (EOFException | SocketTimeoutException e) {
            log.debug("feed client {} left: {}", client, e.getMessage());
        } catch (IOException e) {
            log.debug("feed client {} connection failed: {}", client, e.getMessage());
        } catch (RuntimeException e) {
            log.warn("feed session for {} failed: {}", client, e.toString());
            fatal("XX000", "internal error in the pgrelay feed: " + e.getMessage());
        } finally {
            if (deadline != null) {
                // Also after a failed handshake: a pending deadline holds this session and its buffers
                // for a minute, and a flood of short bad connections would pile them up.
                deadline.cancel(false);
            }
            server.sessionEnded(this);
            closeQuietly();
        }
    }

    private void streams() throws IOException {
        in = new WireReader(socket.getInputStream(), context.maxMessageBytes());
        out = new WireWriter(socket.getOutputStream());
    }

    /** True when the client is authenticated and ready for commands. */
    private boolean handshake() throws IOException, ProtocolException {
        StartupPacket packet = in.readStartup();
        while (!(packet instanceof StartupPacket.Startup)) {
            if (packet instanceof StartupPacket.CancelRequest) {
                return false; // nothing to cancel: commands run to completion quickly
            }
            boolean tls = packet instanceof StartupPacket.SslRequest && context.tls() != null && !(socket instanceof SSLSocket);
            out.rawByte(tls ? 'S' : 'N');
            if (tls) {
                upgradeToTls();
            }
            packet = in.readStartup();
        }
        StartupPacket.Startup startup = (StartupPacket.Startup) packet;
        String user = startup.parameter("user");
        client = (user == null ? "?" : user) + "@" + socket.getRemoteSocketAddress();
        checkStartup(startup);
        authenticate(user);
        welcome(startup);
        return true;
    }

    private void upgradeToTls() throws IOException {
        SSLSocket tls = (SSLSocket) context.tls().getSocketFactory()
                .createSocket(socket, socket.getInetAddress().getHostAddress(), socket.getPort(), true);
        tls.setUseClientMode(false);
        tls.startHandshake();
        socket = tls;
        streams();
    }

    private void checkStartup(StartupPacket.Startup startup) throws ProtocolException {
        String replication = startup.parameter("replication");
        if (!"database".equalsIgnoreCase(replication)) {
            throw new ProtocolException("08P01", "the pgrelay feed accepts logical replication connections only "
                    + "(replication=database); it does not run SQL sessions or physical replication");
        }
        String database = startup.parameter("database");
        if (database != null && !database.isEmpty() && !database.equals(context.database())) {
            throw new ProtocolException("3D000", "database \"" + database + "\" does not exist: this feed serves \""
                    + context.database() + "\"");
        }
    }

    private void authenticate(String user) throws IOException, ProtocolException {
        InetAddress address = socket.getInetAddress();
        if (context.trustLoopback() && address.isLoopbackAddress()) {
            if (!context.user().equals(user)) {
                throw new ProtocolException("28000", "role \"" + user + "\" is not the feed user");
            }
            out.authenticationOk();
            return;
        }
        if (context.credentials() == null) {
            throw new ProtocolException("28000", "no password is configured for the feed (feed.auth=trust admits loopback "
                    + "clients only): set feed.password to admit " + address.getHostAddress());
        }
        out.authenticationSasl(ScramServer.MECHANISM);
        out.flush();
        ScramServer.Exchange exchange = ScramServer.start(context.credentials());
        byte[] clientFirst = saslInitialResponse(expect(FrontendMessage.PASSWORD).body().duplicate());
        out.authenticationSaslContinue(exchange.serverFirst(clientFirst));
        out.flush();
        ByteBuffer response = expect(FrontendMessage.PASSWORD).body().duplicate();
        byte[] clientFinal = new byte[response.remaining()];
        response.get(clientFinal);
        byte[] serverFinal;
        try {
            serverFinal = exchange.serverFinal(clientFinal);
        } catch (ProtocolException e) {
            throw passwordFailed(user, e);
        }
        if (!context.user().equals(user)) {
            // Same answer as a wrong password: do not tell who exists.
            throw passwordFailed(user, null);
        }
        out.authenticationSaslFinal(serverFinal);
        out.authenticationOk();
    }

    /** The client-first-message inside a SASLInitialResponse: mechanism name, int32 length, data. */
    private static byte[] saslInitialResponse(ByteBuffer initial) throws ProtocolException {
        String mechanism;
        try {
            mechanism = WireReader.cString(initial);
        } catch (IllegalArgumentException e) {
            throw new ProtocolException("08P01", "malformed SASLInitialResponse: no mechanism name");
        }
        if (!ScramServer.MECHANISM.equals(mechanism)) {
            throw new ProtocolException("28000", "SASL mechanism " + mechanism + " is not supported: use " + ScramServer.MECHANISM);
        }
        int length = initial.remaining() < 4 ? -1 : initial.getInt();
        if (length < 0 || length > initial.remaining()) {
            throw new ProtocolException("08P01", "malformed SASLInitialResponse");
        }
        byte[] clientFirst = new byte[length];
        initial.get(clientFirst);
        return clientFirst;
    }

    private static ProtocolException passwordFailed(String user, ProtocolException cause) {
        if (cause != null && !"28P01".equals(cause.sqlState())) {
            return cause;
        }
        return new ProtocolException("28P01", "password authentication failed for user \"" + user + "\"");
    }

    private void welcome(StartupPacket.Startup startup) throws IOException {
        out.parameterStatus("server_version", FeedContext.SERVER_VERSION);
        out.parameterStatus("server_encoding", "UTF8");
        out.parameterStatus("client_encoding", "UTF8");
        out.parameterStatus("DateStyle", "ISO, MDY");
        out.parameterStatus("integer_datetimes", "on");
        out.parameterStatus("standard_conforming_strings", "on");
        out.parameterStatus("TimeZone", "UTC");
        String application = startup.parameter("application_name");
        out.parameterStatus("application_name", application == null ? "" : application);
        out.backendKeyData(processId, secretKey);
        out.readyForQuery();
        out.flush();
        log.info("feed client {} connected", client);
    }

    private FrontendMessage expect(byte type) throws IOException, ProtocolException {
        FrontendMessage message = in.read();
        if (message.type() != type) {
            throw new ProtocolException("08P01", "expected message '" + (char) type + "', got '" + (char) message.type() + "'");
        }
        return message;
    }

    private void commandLoop() throws IOException, ProtocolException {
        FeedCommands commands = new FeedCommands(context, server, this);
        try {
            commands(commands);
        } finally {
            commands.releaseSnapshot();
        }
    }

    private void commands(FeedCommands commands) throws IOException, ProtocolException {
        while (true) {
            FrontendMessage message = in.read();
            switch (message.type()) {
                case FrontendMessage.TERMINATE -> {
                    return;
                }
                case FrontendMessage.QUERY -> {
                    String query;
                    try {
                        query = message.queryText();
                    } catch (IllegalArgumentException e) {
                        throw new ProtocolException("08P01", "malformed Query message");
                    }
                    commands.execute(query, out, in);
                    out.readyForQuery();
                    out.flush();
                }
                default -> throw new ProtocolException("08P01", "unexpected message type '" + (char) message.type()
                        + "': the feed speaks the simple query protocol in replication mode");
            }
        }
    }

    String client() {
        return client;
    }

    int processId() {
        return processId;
    }

    private void fatal(String sqlState, String message) {
        try {
            if (out != null) {
                out.error("FATAL", sqlState, message);
                out.flush();
            }
        } catch (IOException ignored) {
            // The client is gone; there is no one left to tell.
        }
    }

    void closeQuietly() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing is all that is left to do.
        }
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static List<Field> fields(Object... nameAndType) {
        Field[] fields = new Field[nameAndType.length / 2];
        for (int i = 0; i < fields.length; i++) {
            fields[i] = new Field((String) nameAndType[2 * i], (Integer) nameAndType[2 * i + 1]);
        }
        return List.of(fields);
    }
}
