package io.pgrelay.config;

import io.pgrelay.config.RawValue.Origin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The text of every key after merging its sources, before any parsing: the config file, the
 * environment (which wins), and {@code KEY.file} value files. Unknown keys and unreadable
 * value files are recorded as problems here; typing is {@link ValueReader}'s job.
 */
final class RawSettings {
    private final Map<String, RawValue> values;
    private final Set<String> failed;

    private RawSettings(Map<String, RawValue> values, Set<String> failed) {
        this.values = values;
        this.failed = failed;
    }

    /** The key's text; absent when unset or set to the empty string (both mean "the default"). */
    Optional<RawValue> get(KeySpec spec) {
        return Optional.ofNullable(values.get(spec.name()));
    }

    /** Whether a problem was already recorded about where this key's value comes from. */
    boolean failed(KeySpec spec) {
        return failed.contains(spec.name());
    }

    static RawSettings collect(Properties properties, String sourceName, Map<String, String> env, Problems problems) {
        Layer file = Layer.fromProperties(properties, sourceName, problems);
        Layer environment = Layer.fromEnvironment(env, problems);
        Map<String, RawValue> values = new HashMap<>();
        Set<String> failed = new HashSet<>();
        for (KeySpec spec : ConfigKeys.all()) {
            RawValue direct = normalize(spec, environment.direct, file.direct);
            RawValue reference = normalize(spec, environment.references, file.references);
            RawValue value = resolve(spec, sourceName, direct, reference, problems);
            if (value == null) {
                failed.add(spec.name()); // a problem names it already; "missing" would only repeat it
            } else if (!value.value().isEmpty()) {
                values.put(spec.name(), value);
            }
        }
        return new RawSettings(values, failed);
    }

    /** The environment's text if it sets the key at all (even to empty, to clear the file's), else the file's. */
    private static RawValue normalize(KeySpec spec, Map<String, RawValue> fromEnv, Map<String, RawValue> fromFile) {
        RawValue chosen = fromEnv.containsKey(spec.name()) ? fromEnv.get(spec.name()) : fromFile.get(spec.name());
        if (chosen == null) {
            return null;
        }
        // Trailing blanks in a properties file are invisible yet kept by Properties; a password may mean them.
        String text = spec.secret() ? chosen.value() : chosen.value().strip();
        return text.isEmpty() ? null : new RawValue(text, chosen.origin());
    }

    /** The key's value; empty text when unset; {@code null} after recording a problem. */
    private static RawValue resolve(KeySpec spec, String sourceName, RawValue direct, RawValue reference,
                                    Problems problems) {
        if (direct != null && reference != null) {
            problems.add(spec.name() + ": set both as a value" + place(direct, sourceName)
                    + " and as " + spec.fileKey() + place(reference, sourceName)
                    + ": keep only one of them");
            return null;
        }
        if (reference != null) {
            return ValueFile.read(spec, reference, problems);
        }
        return direct == null ? new RawValue("", Origin.DEFAULT) : direct;
    }

    private static String place(RawValue value, String sourceName) {
        return value.origin().source() == RawValue.Source.ENVIRONMENT
                ? " by " + value.origin().where()
                : " in " + sourceName;
    }

    /** Dotted words, as every key is; a bare line not shaped so is not echoed back. */
    private static final Pattern KEY_SHAPE = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)+");

    /** What one source says: values of keys, and paths of {@code KEY.file} value files, both by key name. */
    private record Layer(Map<String, RawValue> direct, Map<String, RawValue> references) {

        static Layer fromProperties(Properties properties, String sourceName, Problems problems) {
            Layer layer = new Layer(new HashMap<>(), new HashMap<>());
            for (String key : new TreeSet<>(properties.stringPropertyNames())) {
                RawValue value = new RawValue(properties.getProperty(key), Origin.CONFIG_FILE);
                if (ConfigKeys.find(key).isPresent()) {
                    layer.direct.put(key, value);
                } else if (baseKey(key).isPresent()) {
                    layer.references.put(baseKey(key).get().name(), value);
                } else {
                    problems.add(unknownKey(key, value.value(), sourceName));
                }
            }
            return layer;
        }

        static Layer fromEnvironment(Map<String, String> env, Problems problems) {
            Map<String, KeySpec> byVariable = new HashMap<>();
            Map<String, KeySpec> byFileVariable = new HashMap<>();
            for (KeySpec spec : ConfigKeys.all()) {
                byVariable.put(spec.envName(), spec);
                byFileVariable.put(spec.fileEnvName(), spec);
            }
            Layer layer = new Layer(new HashMap<>(), new HashMap<>());
            for (Map.Entry<String, String> entry : new TreeMap<>(env).entrySet()) {
                String variable = entry.getKey();
                if (!variable.startsWith(ConfigKeys.ENV_PREFIX) || ConfigKeys.NON_KEY_ENV.contains(variable)) {
                    continue;
                }
                RawValue value = new RawValue(entry.getValue(), Origin.environment(variable));
                if (byVariable.containsKey(variable)) {
                    layer.direct.put(byVariable.get(variable).name(), value);
                } else if (byFileVariable.containsKey(variable)) {
                    layer.references.put(byFileVariable.get(variable).name(), value);
                } else {
                    problems.warn(unknownVariable(variable, byVariable.keySet(), byFileVariable.keySet()));
                }
            }
            return layer;
        }

        private static Optional<KeySpec> baseKey(String key) {
            if (!key.endsWith(KeySpec.FILE_SUFFIX)) {
                return Optional.empty();
            }
            return ConfigKeys.find(key.substring(0, key.length() - KeySpec.FILE_SUFFIX.length()));
        }

        private static String unknownKey(String key, String value, String sourceName) {
            if (value.isBlank() && !KEY_SHAPE.matcher(key).matches()) {
                // A bare line, likely a password pasted on its own: Properties makes it a key.
                return "an entry in " + sourceName + " is not shaped like a key (not shown: it may be a secret): "
                        + "write each setting as KEY=VALUE with a key from the configuration reference";
            }
            List<String> known = new ArrayList<>();
            for (KeySpec spec : ConfigKeys.all()) {
                known.add(spec.name());
                known.add(spec.fileKey());
            }
            return key + ": unknown key in " + sourceName + Suggestions.closest(key, known)
                    .map(name -> ": did you mean '" + name + "'?")
                    .orElse(": remove it or correct its spelling (see the configuration reference)");
        }

        private static String unknownVariable(String variable, Set<String> names, Set<String> fileNames) {
            List<String> known = new ArrayList<>(names);
            known.addAll(fileNames);
            known.sort(null); // a stable suggestion when two are equally close
            return variable + " matches no configuration key and is ignored" + Suggestions.closest(variable, known)
                    .map(name -> ": did you mean " + name + "?")
                    .orElse(": unset it or correct its name");
        }
    }

    /** A {@code KEY.file}: its content, less one trailing newline, is the key's value. */
    private static final class ValueFile {
        static RawValue read(KeySpec spec, RawValue reference, Problems problems) {
            String fix = ": fix the path or let the relay's user read the file" + reference.origin().suffix();
            Path path;
            try {
                path = Path.of(reference.value());
            } catch (InvalidPathException e) {
                problems.add(spec.fileKey() + ": '" + reference.value() + "' is not a valid path" + fix);
                return null;
            }
            if (Files.isDirectory(path)) {
                problems.add(spec.fileKey() + ": " + path + " is a directory" + fix);
                return null;
            }
            try {
                String content = withoutTrailingNewline(Files.readString(path));
                String text = spec.secret() ? content : content.strip();
                return new RawValue(text, Origin.valueFile(path.toString())); // empty: as if unset
            } catch (IOException e) {
                problems.add(spec.fileKey() + ": cannot read " + path + " (" + ConfigFile.reason(e) + ")" + fix);
                return null;
            }
        }

        /** Editors and {@code echo} end files with a newline nobody means as part of a password. Only one goes. */
        static String withoutTrailingNewline(String content) {
            if (content.endsWith("\r\n")) {
                return content.substring(0, content.length() - 2);
            }
            if (content.endsWith("\n")) {
                return content.substring(0, content.length() - 1);
            }
            return content;
        }
    }
}
