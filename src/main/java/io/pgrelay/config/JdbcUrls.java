package io.pgrelay.config;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Takes passwords out of JDBC URLs. The loader keeps a configured URL's password in a
 * {@link Secret} instead, so a URL can be logged or put in an exception by any code without
 * leaking, and so a password key wins over one in the URL (pgjdbc would otherwise let the
 * URL's {@code password=} override the connection properties).
 */
final class JdbcUrls {
    private static final String PASSWORD_PARAM = "password";

    private JdbcUrls() {
    }

    /** A URL with its password removed, and that password (empty when it had none). */
    record Split(String url, Secret password) {
    }

    static Split splitPassword(String url) {
        Secret fromUserInfo = Secret.none();
        int[] userInfo = userInfo(url);
        if (userInfo != null) {
            // pgjdbc does not understand user:pass@host at all, so the whole userinfo goes.
            String info = url.substring(userInfo[0], userInfo[1]);
            int colon = info.indexOf(':');
            fromUserInfo = colon < 0 ? Secret.none() : Secret.of(decode(info.substring(colon + 1)));
            url = url.substring(0, userInfo[0]) + url.substring(userInfo[1] + 1);
        }
        int query = url.indexOf('?');
        if (query < 0) {
            return new Split(url, fromUserInfo);
        }
        Secret fromQuery = Secret.none();
        List<String> kept = new ArrayList<>();
        for (String param : url.substring(query + 1).split("&", -1)) {
            int eq = param.indexOf('=');
            String name = eq < 0 ? param : param.substring(0, eq);
            if (name.toLowerCase(Locale.ROOT).equals(PASSWORD_PARAM)) {
                fromQuery = Secret.of(eq < 0 ? "" : decode(param.substring(eq + 1)));
            } else if (!param.isEmpty()) {
                kept.add(param);
            }
        }
        String base = url.substring(0, query);
        String rebuilt = kept.isEmpty() ? base : base + "?" + String.join("&", kept);
        return new Split(rebuilt, fromQuery.isEmpty() ? fromUserInfo : fromQuery);
    }

    /**
     * The first port in the URL's host list that is not 1-65535, or null when all are fine (pgjdbc
     * would refuse such a URL only when the relay connects).
     */
    static String badPort(String url) {
        int start = url.indexOf("//");
        if (start < 0) {
            return null;
        }
        int end = start + 2;
        while (end < url.length() && "/?#".indexOf(url.charAt(end)) < 0) {
            end++;
        }
        String authority = url.substring(url.lastIndexOf('@', end - 1) >= start ? url.lastIndexOf('@', end - 1) + 1 : start + 2, end);
        for (String host : authority.split(",", -1)) {
            int colon = host.lastIndexOf(':');
            if (colon < 0 || host.endsWith("]")) {
                continue;
            }
            String port = host.substring(colon + 1);
            if (!port.matches("\\d{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                return port;
            }
        }
        return null;
    }

    /**
     * Where the userinfo ({@code user:pass}) of {@code url} starts and ends (the index of its
     * {@code @}), or {@code null}. Per RFC 3986 it sits in the authority, which ends at the first
     * {@code /}, {@code ?} or {@code #} after {@code //}.
     */
    static int[] userInfo(String url) {
        int start = url.indexOf("//");
        if (start < 0) {
            return null;
        }
        start += 2;
        int end = url.length();
        for (char delimiter : new char[] {'/', '?', '#'}) {
            int at = url.indexOf(delimiter, start);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        int at = url.lastIndexOf('@', end - 1);
        return at < start ? null : new int[] {start, at};
    }

    private static String decode(String value) {
        try {
            return URLDecoder.decode(value, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException notEncoded) {
            return value; // a stray '%' – take the text as written, as a person would mean it
        }
    }
}
