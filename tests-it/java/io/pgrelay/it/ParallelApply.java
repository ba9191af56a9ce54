package io.pgrelay.it;

import java.util.Properties;

/**
 * The one place that says how many apply workers the parallel-apply integration tests run with
 * ({@code apply.workers}), so switching them from the serial path to parallel apply is a
 * one-line change. {@code -DPGRELAY_TEST_APPLY_WORKERS=N} (or the environment variable of that
 * name) overrides it for one run.
 *
 * <p>The tests are written to pass unchanged at any count: serial apply (1) is correct by
 * construction, so a failure at 1 means the test's oracle is wrong, a failure at N &gt; 1 means
 * parallel apply is.
 */
public final class ParallelApply {

    public static final String WORKERS_SETTING = "PGRELAY_TEST_APPLY_WORKERS";
    private static final int DEFAULT_WORKERS = 4;
    /** The relay grows its pool to apply.workers + 2 anyway; 6 is that for 4 workers. */
    private static final int POOL_SIZE = 6;

    private ParallelApply() {
    }

    /** The {@code apply.workers} of the parallel-apply tests. */
    public static int workers() {
        String value = TestSetting.get(WORKERS_SETTING);
        int workers = value == null ? DEFAULT_WORKERS : Integer.parseInt(value);
        if (workers < 1 || workers > POOL_SIZE - 1) {
            throw new IllegalArgumentException(WORKERS_SETTING + "=" + value + ": must be 1.." + (POOL_SIZE - 1));
        }
        return workers;
    }

    /** Sets {@code apply.workers} and a pool large enough for them on relay properties. */
    public static Properties configure(Properties properties, int workers) {
        properties.setProperty("apply.workers", Integer.toString(workers));
        properties.setProperty("downstream.pool-size", Integer.toString(POOL_SIZE));
        return properties;
    }
}
