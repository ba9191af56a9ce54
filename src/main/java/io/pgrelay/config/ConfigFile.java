package io.pgrelay.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Properties;

/** Reads the relay's properties file, turning every way it can fail into a problem message. */
final class ConfigFile {
    private ConfigFile() {
    }

    /** The file's properties, or {@code null} after recording why they could not be read. */
    static Properties read(Path file, Problems problems) {
        if (Files.isDirectory(file)) {
            problems.add("config file " + file + " is a directory: pass -c FILE with the path of the properties file");
            return null;
        }
        // UTF-8, not the ISO-8859-1 of Properties.load(InputStream): operators write names in UTF-8.
        try (Reader reader = Files.newBufferedReader(file)) {
            Properties properties = new Properties();
            properties.load(reader);
            return properties;
        } catch (NoSuchFileException e) {
            problems.add("config file " + file + " not found: pass -c FILE with the path of the properties file");
        } catch (AccessDeniedException e) {
            problems.add("config file " + file + " cannot be read (permission denied): "
                    + "let the relay's user read it, or pass -c FILE");
        } catch (MalformedInputException e) {
            problems.add("config file " + file + " is not UTF-8 text: save it as UTF-8");
        } catch (IllegalArgumentException e) {
            problems.add("config file " + file + " is malformed (" + e.getMessage() + "): "
                    + "fix the \\u escape it names");
        } catch (IOException e) {
            problems.add("config file " + file + " cannot be read (" + e + "): pass -c FILE with a readable file");
        }
        return null;
    }

    /** Why a file could not be read, in words an operator acts on; never the file's content. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof MalformedInputException) {
            return "not UTF-8 text";
        }
        return e.getClass().getSimpleName();
    }
}
