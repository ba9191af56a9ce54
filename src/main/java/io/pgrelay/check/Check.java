package io.pgrelay.check;

/**
 * One line of a preflight report: what was checked, how it came out, what was found, and how to
 * fix it (null when there is nothing to fix).
 *
 * @param retriable a FAIL that waiting can fix (an end that is unreachable or has no free
 *                  connection now): {@code pgrelay run} leaves it to its reconnect loop instead of
 *                  refusing to start
 */
public record Check(String name, Status status, String detail, String fix, boolean retriable) {

    /** How a check came out. Only FAIL makes {@code check} exit 3 and stops {@code run}. */
    public enum Status { OK, WARN, FAIL, SKIP }

    public static Check ok(String name, String detail) {
        return new Check(name, Status.OK, detail, null, false);
    }

    public static Check warn(String name, String detail, String fix) {
        return new Check(name, Status.WARN, detail, fix, false);
    }

    public static Check fail(String name, String detail, String fix) {
        return new Check(name, Status.FAIL, detail, fix, false);
    }

    /** A FAIL that waiting may fix: the end is down or busy right now. */
    public static Check unavailable(String name, String detail, String fix) {
        return new Check(name, Status.FAIL, detail, fix, true);
    }

    /** Not applicable here; {@code detail} says why. */
    public static Check skip(String name, String detail) {
        return new Check(name, Status.SKIP, detail, null, false);
    }

    public boolean failed() {
        return status == Status.FAIL;
    }

    /** The check as one log line: {@code name: detail; fix: fix}. */
    public String oneLine() {
        return name + ": " + detail + (fix == null ? "" : "; fix: " + fix);
    }
}
