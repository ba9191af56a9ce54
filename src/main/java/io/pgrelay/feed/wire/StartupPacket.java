package io.pgrelay.feed.wire;

import java.util.Map;

/** The first packet of a connection: a startup message, or one of the special requests. */
public sealed interface StartupPacket {

    /** Protocol version 3.0 start with its parameters (user, database, replication, ...). */
    record Startup(int protocol, Map<String, String> parameters) implements StartupPacket {
        public Startup {
            parameters = Map.copyOf(parameters);
        }

        public String parameter(String name) {
            return parameters.get(name);
        }
    }

    /** The client asks for TLS before its startup message. */
    record SslRequest() implements StartupPacket {}

    /** The client asks for GSSAPI encryption: always declined. */
    record GssEncRequest() implements StartupPacket {}

    /** Cancel a running query of another session. */
    record CancelRequest(int processId, int secretKey) implements StartupPacket {}
}
