package io.pgrelay.it.fault;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a fault run did and found, by kind, in the order kinds first happened; written as a
 * Markdown table to a summary file under {@code target/} (docs/RELIABILITY.md is made from it).
 */
public final class FaultTally {

    private final Map<String, AtomicLong> faults = new ConcurrentHashMap<>();
    private final List<String> order = new ArrayList<>();
    private final Map<String, String> figures = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    /** One more fault of {@code kind} injected. */
    public synchronized void fault(String kind) {
        if (!faults.containsKey(kind)) {
            order.add(kind);
        }
        faults.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    }

    public synchronized long count(String kind) {
        AtomicLong count = faults.get(kind);
        return count == null ? 0 : count.get();
    }

    public synchronized long total() {
        return faults.values().stream().mapToLong(AtomicLong::get).sum();
    }

    /** A result figure, e.g. rows lost; shown below the fault table in the order set. */
    public synchronized void figure(String name, Object value) {
        figures.put(name, String.valueOf(value));
    }

    /** A line of text for the summary, e.g. why a fault kind was skipped. */
    public synchronized void note(String text) {
        notes.add(text);
        System.out.println("FaultIT: " + text);
    }

    public synchronized String markdown(String title) {
        StringBuilder out = new StringBuilder();
        out.append("### ").append(title).append("\n\n");
        out.append("| fault | injected |\n|---|---:|\n");
        for (String kind : order) {
            out.append("| ").append(kind).append(" | ").append(faults.get(kind).get()).append(" |\n");
        }
        out.append("| **all faults** | **").append(total()).append("** |\n\n");
        out.append("| figure | value |\n|---|---:|\n");
        figures.forEach((name, value) -> out.append("| ").append(name).append(" | ").append(value).append(" |\n"));
        if (!notes.isEmpty()) {
            out.append('\n');
            notes.forEach(note -> out.append("- ").append(note).append('\n'));
        }
        return out.toString();
    }

    /** Writes {@link #markdown} to {@code file} (directories created) and prints it. */
    public void write(Path file, String title) throws IOException {
        Files.createDirectories(file.getParent());
        String text = markdown(title);
        Files.writeString(file, text, StandardCharsets.UTF_8);
        System.out.println("FaultIT summary (" + file + "):\n" + text);
    }
}
