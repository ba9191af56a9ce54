package io.pgrelay.it.fault;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A small file system of its own for a relay's data directory, so a test can fill it: a tmpfs
 * mounted on a directory ({@code mount -t tmpfs -o size=…}), which needs root. When the
 * environment cannot mount one, {@link #mount} returns null and says why, and the test skips the
 * disk-full case visibly instead of pretending.
 */
public final class SmallDisk implements AutoCloseable {

    private final Path dir;
    private Path filler;

    private SmallDisk(Path dir) {
        this.dir = dir;
    }

    /** Mounts a tmpfs of {@code megabytes} on {@code dir} (created); null with {@code why[0]} set when impossible. */
    public static SmallDisk mount(Path dir, int megabytes, String[] why) {
        try {
            Files.createDirectories(dir);
            String result = run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m,mode=0777", "tmpfs", dir.toString());
            if (result != null) {
                why[0] = "mount -t tmpfs failed: " + result;
                return null;
            }
            return new SmallDisk(dir);
        } catch (IOException e) {
            why[0] = "cannot mount a tmpfs: " + e.getMessage();
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why[0] = "interrupted";
            return null;
        }
    }

    public Path dir() {
        return dir;
    }

    /** Writes a file until the file system is full; returns the bytes it took. */
    public long fill() throws IOException {
        filler = dir.resolve("filler");
        byte[] block = new byte[64 * 1024];
        long written = 0;
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(block);
                written += block.length;
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw e;
            }
        }
        return written;
    }

    /** Frees what {@link #fill} took. */
    public void free() throws IOException {
        if (filler != null) {
            Files.deleteIfExists(filler);
            filler = null;
        }
    }

    /** Unmounts; the relay using it must have stopped. */
    @Override
    public void close() throws IOException, InterruptedException {
        free();
        String result = run("umount", dir.toString());
        if (result != null) {
            result = run("umount", "-l", dir.toString());
        }
        if (result != null) {
            throw new IOException("umount " + dir + " failed: " + result);
        }
    }

    /** Runs a command; null on success, else its output. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return String.join(" ", command) + " did not finish within 30 s";
        }
        return process.exitValue() == 0 ? null : "exit " + process.exitValue() + ": " + output;
    }
}
