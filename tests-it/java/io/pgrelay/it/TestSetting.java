package io.pgrelay.it;

/**
 * Reads a test knob from a system property first, then the environment, so a knob can be set
 * per Maven run ({@code -DPGRELAY_TEST_PG=local}) or per shell ({@code PGRELAY_TEST_PG=local mvn ...}).
 */
final class TestSetting {

    private TestSetting() {
    }

    /** The trimmed value, or null when unset or blank. */
    static String get(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            value = System.getenv(name);
        }
        return value == null || value.isBlank() ? null : value.trim();
    }
}
