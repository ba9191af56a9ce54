package io.pgrelay.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** Reads the version Maven wrote into the jar. */
final class VersionProvider implements IVersionProvider {

    static String version() {
        Properties properties = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("/pgrelay-version.properties")) {
            if (in != null) {
                properties.load(in);
            }
        } catch (IOException e) {
            // Fall through to "unknown": a version line is not worth failing for.
        }
        return properties.getProperty("pgrelay.version", "unknown");
    }

    @Override
    public String[] getVersion() {
        return new String[] {"pgrelay " + version()};
    }
}
