package io.pgrelay.config;

import java.util.regex.Pattern;

/**
 * A listen address as written in the configuration: {@code host:port}, {@code [ipv6]:port}.
 * The host is required, so a listener never binds every interface by accident.
 */
public record HostPort(String host, int port) {
    public static final String FORMS = "HOST:PORT, e.g. 127.0.0.1:9187 or [::1]:9187, with a port 1-65535 (0: any free port)";

    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?");

    /** @throws IllegalArgumentException when {@code text} is not one of the {@link #FORMS} */
    public static HostPort parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("no port");
        }
        String host = text.substring(0, colon);
        int port = port(text.substring(colon + 1));
        if (host.startsWith("[") && host.endsWith("]") && IPV6.matcher(host.substring(1, host.length() - 1)).matches()) {
            return new HostPort(host.substring(1, host.length() - 1), port);
        }
        if (!HOST_NAME.matcher(host).matches()) {
            throw new IllegalArgumentException("bad host");
        }
        return new HostPort(host, port);
    }

    private static int port(String text) {
        if (!text.matches("\\d{1,5}")) {
            throw new IllegalArgumentException("bad port");
        }
        int port = Integer.parseInt(text);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range");
        }
        return port;
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
