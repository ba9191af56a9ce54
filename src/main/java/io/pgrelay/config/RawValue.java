package io.pgrelay.config;

/**
 * A key's text before parsing, and where it came from, so a problem message can point the
 * operator at the place to fix.
 */
record RawValue(String value, Origin origin) {

    enum Source { CONFIG_FILE, ENVIRONMENT, VALUE_FILE, DEFAULT }

    /** @param where the environment variable, or the path of the value file; empty otherwise */
    record Origin(Source source, String where) {
        static final Origin CONFIG_FILE = new Origin(Source.CONFIG_FILE, "");
        static final Origin DEFAULT = new Origin(Source.DEFAULT, "");

        static Origin environment(String variable) {
            return new Origin(Source.ENVIRONMENT, variable);
        }

        static Origin valueFile(String path) {
            return new Origin(Source.VALUE_FILE, path);
        }

        /**
         * Whether a message may quote the value. Not for a value read from a {@code KEY.file}:
         * such files are usually secret mounts, whatever the key.
         */
        boolean quotable() {
            return source != Source.VALUE_FILE;
        }

        /** Appended to a problem message; the config file is the default place and goes unsaid. */
        String suffix() {
            return switch (source) {
                case ENVIRONMENT -> " (set by " + where + ")";
                case VALUE_FILE -> " (read from " + where + ")";
                case DEFAULT -> " (the default)";
                case CONFIG_FILE -> "";
            };
        }
    }
}
