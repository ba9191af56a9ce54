package io.pgrelay.demo;

import java.time.Duration;
import java.util.List;

/** The live line printed once per second: {@code t=7s  rows/s=1830  lag A=12ms B=25ms}. */
final class ProgressLine {

    private ProgressLine() {
    }

    /**
     * @param lags per tier (A, B, …); null where the tier has not applied anything yet
     */
    static String format(long second, long rowsPerSecond, List<Duration> lags) {
        StringBuilder line = new StringBuilder()
                .append("t=").append(second).append('s')
                .append("  rows/s=").append(rowsPerSecond)
                .append("  lag");
        for (int i = 0; i < lags.size(); i++) {
            Duration lag = lags.get(i);
            line.append(' ').append(Tiers.label(i + 1)).append('=')
                    .append(lag == null ? "-" : lag.toMillis() + "ms");
        }
        return line.toString();
    }
}
