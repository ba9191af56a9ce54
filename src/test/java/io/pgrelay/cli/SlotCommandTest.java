package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.feed.FeedSlots;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgrelay slot} in this JVM: argument checks, configuration errors, and every command
 * against a stopped relay's data directory.
 */
class SlotCommandTest {

    private static final long END = 0x3_0000_0200L;

    @TempDir
    Path dir;
    private Path dataDir;
    private Path config;

    record Run(int exitCode, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(line -> !line.isBlank()).toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- out ---\n" + out + "--- err ---\n" + err;
        }
    }

    @BeforeEach
    void dataDir() throws IOException {
        dataDir = dir.resolve("data");
        Files.createDirectories(dataDir);
        config = SlotFixtures.write(dir.resolve("relay.properties"), SlotFixtures.config(dataDir, "127.0.0.1:" + freePort()));
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Run slot(String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "slot";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "-c";
        all[args.length + 2] = config.toString();
        return run(all);
    }

    /** One "pgrelay: ..." line on stderr (plus at most the --help hint), nothing on stdout. */
    private static String oneErrorLine(Run run, int exitCode) {
        assertEquals(exitCode, run.exitCode(), run.toString());
        List<String> lines = run.errLines();
        assertTrue(lines.size() == 1 || (lines.size() == 2 && lines.get(1).startsWith("Try ")), run.toString());
        assertTrue(lines.get(0).startsWith("pgrelay: "), run.toString());
        assertEquals("", run.out(), run.toString());
        return lines.get(0);
    }

    // ---------------------------------------------------------------- arguments

    @Test
    void invalidNamesAreUsageErrorsThatNameTheRule() {
        for (String bad : List.of("Bad-Name", "UPPER", "with space", "x".repeat(64), "")) {
            for (String command : List.of("create", "drop")) {
                String line = oneErrorLine(slot(command, bad), ExitCode.USAGE);
                assertTrue(line.contains("\"" + bad + "\"") && line.contains("lower-case letters, digits and underscores")
                        && line.contains("63"), line);
            }
        }
        assertFalse(Files.exists(dataDir.resolve("slots")), "nothing may be opened for a bad name");
    }

    @Test
    void longestValidNameIsAccepted() throws IOException {
        SlotFixtures.appendTransaction(dataDir, END - 0x100, END);
        Run run = slot("create", "x".repeat(63));
        assertEquals(ExitCode.OK, run.exitCode(), run.toString());
    }

    @Test
    void missingNameConfigOrSubcommandAreUsageErrors() {
        assertTrue(oneErrorLine(slot("create"), ExitCode.USAGE).contains("NAME"));
        assertTrue(oneErrorLine(run("slot", "list"), ExitCode.USAGE).contains("--config"));
        assertTrue(oneErrorLine(run("slot"), ExitCode.USAGE).contains("list, create NAME or drop NAME"));
        assertTrue(oneErrorLine(slot("rename", "a"), ExitCode.USAGE).contains("rename"));
        assertTrue(oneErrorLine(slot("list", "--yaml"), ExitCode.USAGE).contains("--yaml"));
    }

    @Test
    void helpListsTheSubcommandsAndExitCodes() {
        Run run = run("slot", "--help");
        assertEquals(ExitCode.OK, run.exitCode(), run.toString());
        for (String expected : List.of("list", "create", "drop", "Exit codes")) {
            assertTrue(run.out().contains(expected), run.toString());
        }
        assertTrue(run("--help").out().contains("slot"), "pgrelay --help lists the slot command");
    }

    // ---------------------------------------------------------------- configuration

    @Test
    void configProblemsAreUsageErrors() {
        Run run = run("slot", "list", "-c", dir.resolve("missing.properties").toString());
        assertEquals(ExitCode.USAGE, run.exitCode(), run.toString());
        assertTrue(run.err().contains("missing.properties"), run.toString());
        assertEquals("", run.out());
    }

    @Test
    void aRelayWithoutFeedHasNoSlotsToManage() {
        SlotFixtures.write(config, SlotFixtures.config(dataDir, ""));
        for (String[] args : List.of(new String[] {"list"}, new String[] {"create", "a"}, new String[] {"drop", "a"})) {
            String line = oneErrorLine(slot(args), ExitCode.USAGE);
            assertTrue(line.contains("feed.listen is empty") && line.contains("without a feed"), line);
        }
        assertFalse(Files.exists(dataDir.resolve("slots")));
    }

    @Test
    void aMissingDataDirIsAUsageErrorAndIsNotCreated() {
        Path missing = dir.resolve("nowhere");
        SlotFixtures.write(config, SlotFixtures.config(missing, "127.0.0.1:" + freePort()));
        for (String[] args : List.of(new String[] {"list"}, new String[] {"create", "a"}, new String[] {"drop", "a"})) {
            String line = oneErrorLine(slot(args), ExitCode.USAGE);
            assertTrue(line.contains(missing.toString()) && line.contains("does not exist"), line);
        }
        assertFalse(Files.exists(missing));
    }

    @Test
    void aMissingRelativeDataDirPointsAtTheWorkingDirectory() {
        Path relative = Path.of("no-such-pgrelay-data-" + System.nanoTime());
        SlotFixtures.write(config, SlotFixtures.config(relative, "127.0.0.1:" + freePort()));
        String line = oneErrorLine(slot("list"), ExitCode.USAGE);
        assertTrue(line.contains(relative.toAbsolutePath().toString()) && line.contains("relative to the current directory"),
                line);
        assertFalse(Files.exists(relative));
    }

    // ---------------------------------------------------------------- a stopped relay

    @Test
    void createListDropOnAStoppedRelay() throws IOException {
        SlotFixtures.appendTransaction(dataDir, END - 0x100, END);

        Run created = slot("create", "child_a");
        assertEquals(ExitCode.OK, created.exitCode(), created.toString());
        assertEquals("created feed slot \"child_a\" at 3/200\n", created.out());
        assertEquals("", created.err());

        SlotFixtures.slots(dataDir, "behind", END - 1000);
        Run listed = slot("list");
        assertEquals(ExitCode.OK, listed.exitCode(), listed.toString());
        assertEquals("""
                NAME     CONFIRMED_LSN  LOST  ACTIVE   LAG_BYTES
                behind   2/FFFFFE18     no    unknown  1000
                child_a  3/200          no    unknown  0
                """, listed.out());
        assertEquals("", listed.err(), "no log lines: the output is the answer");

        Run json = slot("list", "--json");
        assertEquals(ExitCode.OK, json.exitCode(), json.toString());
        assertEquals("{\"relay\":\"stopped\",\"data_dir\":" + SlotFormat.string(dataDir.toAbsolutePath().toString())
                + ",\"feed\":null,\"changelog_end_lsn\":\"3/200\",\"slots\":["
                + "{\"name\":\"behind\",\"confirmed_lsn\":\"2/FFFFFE18\",\"lost\":false,\"active\":null,\"temporary\":false,\"lag_bytes\":1000},"
                + "{\"name\":\"child_a\",\"confirmed_lsn\":\"3/200\",\"lost\":false,\"active\":null,\"temporary\":false,\"lag_bytes\":0}"
                + "]}\n", json.out());

        Run dropped = slot("drop", "child_a");
        assertEquals(ExitCode.OK, dropped.exitCode(), dropped.toString());
        assertEquals("dropped feed slot \"child_a\"\n", dropped.out());
        assertFalse(Files.exists(dataDir.resolve("slots").resolve("child_a.slot")));
        assertTrue(FeedSlots.open(dataDir).get("child_a").isEmpty());
        assertTrue(FeedSlots.open(dataDir).get("behind").isPresent());
    }

    @Test
    void createdSlotIsDurableAndReadByTheFeed() throws IOException {
        SlotFixtures.appendTransaction(dataDir, END - 0x100, END);
        assertEquals(ExitCode.OK, slot("create", "child_b").exitCode());
        var slot = FeedSlots.open(dataDir).get("child_b").orElseThrow();
        assertEquals(END, slot.confirmedLsn());
        assertFalse(slot.lost());
        assertFalse(slot.temporary());
    }

    @Test
    void withoutARecordedTransactionCreateIsLeftToTheRunningFeed() throws IOException {
        String line = oneErrorLine(slot("create", "early"), ExitCode.FAILURE);
        assertTrue(line.contains("has not recorded any transaction") && line.contains("start the relay"), line);
        assertFalse(Files.exists(dataDir.resolve("changelog")), "the CLI does not create a changelog");
        assertTrue(FeedSlots.open(dataDir).get("early").isEmpty());
        assertTrue(slot("list", "--json").out().contains("\"changelog_end_lsn\":\"0/0\""));

        // An empty changelog (the relay ran, nothing arrived) is no different.
        try (var changelog = io.pgrelay.changelog.Changelog.open(dataDir.resolve("changelog"),
                io.pgrelay.changelog.ChangelogOptions.defaults())) {
            assertEquals(0, changelog.endLsn());
        }
        assertEquals(ExitCode.FAILURE, slot("create", "early").exitCode());

        // An existing name is still answered as such.
        SlotFixtures.slots(dataDir, "there", 0x10L);
        assertEquals("pgrelay: feed slot \"there\" already exists", oneErrorLine(slot("create", "there"), ExitCode.FAILURE));
        assertEquals(ExitCode.OK, slot("create", "there", "--if-not-exists").exitCode());
    }

    @Test
    void lostSlotsAreListedAsLost() throws IOException {
        SlotFixtures.appendTransaction(dataDir, END - 0x100, END);
        SlotFixtures.slots(dataDir, "slow", 0x10L);
        FeedSlots.open(dataDir).markLost(List.of("slow"));
        Run listed = slot("list");
        assertTrue(listed.out().lines().anyMatch(line -> line.matches("slow\\s+0/10\\s+yes\\s+unknown\\s+" + (END - 0x10))),
                listed.toString());
        assertTrue(slot("list", "--json").out().contains("\"lost\":true"));
    }

    @Test
    void creatingAnExistingSlotFailsUnlessAsked() throws IOException {
        SlotFixtures.slots(dataDir, "taken", 0x10L);
        String line = oneErrorLine(slot("create", "taken"), ExitCode.FAILURE);
        assertEquals("pgrelay: feed slot \"taken\" already exists", line);
        assertEquals(0x10L, FeedSlots.open(dataDir).get("taken").orElseThrow().confirmedLsn(), "left as it was");

        Run again = slot("create", "taken", "--if-not-exists");
        assertEquals(ExitCode.OK, again.exitCode(), again.toString());
        assertEquals("feed slot \"taken\" already exists\n", again.out());
        assertEquals(0x10L, FeedSlots.open(dataDir).get("taken").orElseThrow().confirmedLsn(), "left as it was");
    }

    @Test
    void droppingAMissingSlotFailsUnlessAsked() {
        assertEquals("pgrelay: feed slot \"ghost\" does not exist", oneErrorLine(slot("drop", "ghost"), ExitCode.FAILURE));
        Run run = slot("drop", "ghost", "--if-exists");
        assertEquals(ExitCode.OK, run.exitCode(), run.toString());
        assertEquals("feed slot \"ghost\" does not exist\n", run.out());
    }

    @Test
    void aDamagedSlotFileIsAFailureNamingIt() throws IOException {
        Files.createDirectories(dataDir.resolve("slots"));
        Files.writeString(dataDir.resolve("slots").resolve("broken.slot"), "garbage\n");
        String line = oneErrorLine(slot("list"), ExitCode.FAILURE);
        assertTrue(line.contains("broken.slot") && line.contains("damaged"), line);
    }

    @Test
    void theLockIsReleasedAfterwards() throws IOException {
        SlotFixtures.appendTransaction(dataDir, END - 0x100, END);
        assertEquals(ExitCode.OK, slot("create", "a").exitCode());
        try (FileChannel channel = FileChannel.open(dataDir.resolve("pgrelay.lock"), StandardOpenOption.WRITE);
             FileLock lock = channel.tryLock()) {
            assertTrue(lock != null, "the command left data.dir locked");
        }
    }

    // ---------------------------------------------------------------- a running relay

    @Test
    void aLockedDataDirMeansARunningRelayWhoseFeedMustAnswer() throws IOException {
        SlotFixtures.slots(dataDir, "kept", 0x10L);
        try (FileChannel channel = FileChannel.open(dataDir.resolve("pgrelay.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = channel.lock()) {
            for (String[] args : List.of(new String[] {"list"}, new String[] {"create", "a"}, new String[] {"drop", "kept"})) {
                String line = oneErrorLine(slot(args), ExitCode.FAILURE);
                assertTrue(line.contains("locked by a running relay") && line.contains("does not answer")
                        && line.contains("127.0.0.1:"), line);
            }
        }
        assertTrue(FeedSlots.open(dataDir).get("kept").isPresent(), "the files of a running relay are not touched");
        assertTrue(FeedSlots.open(dataDir).get("a").isEmpty());
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
