package io.pgrelay.config;

import java.util.regex.Pattern;

/** Hides passwords in text that is about to be logged or shown. */
public final class Masking {
    public static final String MASK = "*****";

    /** Any query parameter whose name ends in "password" (password, sslpassword…), any case. */
    private static final Pattern PASSWORD_PARAM =
            Pattern.compile("(?i)([?&;][^?&;=]*password=)[^&]*");

    private Masking() {
    }

    /**
     * {@code jdbc:postgresql://h/db?user=a&password=x} → {@code …&password=*****};
     * {@code jdbc:postgresql://a:x@h/db} → {@code jdbc:postgresql://a:*****@h/db}.
     * Also safe on text that is not a URL.
     */
    public static String maskUrl(String url) {
        if (url == null) {
            return null;
        }
        return PASSWORD_PARAM.matcher(maskUserInfo(url)).replaceAll("$1" + MASK);
    }

    private static String maskUserInfo(String url) {
        int[] userInfo = JdbcUrls.userInfo(url);
        if (userInfo == null) {
            return url;
        }
        int colon = url.indexOf(':', userInfo[0]);
        if (colon < 0 || colon > userInfo[1]) {
            return url; // a user name alone is no secret
        }
        return url.substring(0, colon + 1) + MASK + url.substring(userInfo[1]);
    }
}
