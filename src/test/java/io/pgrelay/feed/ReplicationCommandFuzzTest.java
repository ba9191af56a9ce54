package io.pgrelay.feed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.feed.ReplicationCommand.DropSlot;
import io.pgrelay.feed.ReplicationCommand.StartReplication;
import io.pgrelay.fuzz.Fuzz;
import io.pgrelay.fuzz.Mutator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Mutated and random command texts into the feed's command parser: it returns a command or
 * throws IllegalArgumentException (the session answers 42601), nothing else; publication lists
 * fail only with CommandError.
 */
@Timeout(120)
class ReplicationCommandFuzzTest {

    /** What pgjdbc, pg_recvlogical, libpqwalreceiver and {@code pgrelay slot} send. */
    private static final List<String> CORPUS = List.of(
            "IDENTIFY_SYSTEM",
            "CREATE_REPLICATION_SLOT \"s1\" LOGICAL pgoutput",
            "CREATE_REPLICATION_SLOT \"s1\" TEMPORARY LOGICAL \"pgoutput\" (SNAPSHOT 'nothing');",
            "CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput NOEXPORT_SNAPSHOT",
            "DROP_REPLICATION_SLOT \"s1\" WAIT",
            "START_REPLICATION SLOT \"s1\" LOGICAL 0/0 (\"proto_version\" '1', \"publication_names\" '\"pub\"')",
            "START_REPLICATION SLOT s1 LOGICAL 16/B374D848 (proto_version '1', publication_names 'a,b', messages 'true')",
            "SELECT pg_catalog.set_config('search_path', '', false);",
            "SHOW data_directory_mode",
            "SELECT pubname FROM pg_catalog.pg_publication",
            SlotListQuery.SQL,
            "");

    @Test
    void mutatedCommandsParseOrFailWithIllegalArgument() throws Exception {
        Random random = new Random(Fuzz.seed());
        Mutator mutator = new Mutator(random);
        int iterations = Fuzz.iterations(50_000);
        int parsed = 0;
        int refused = 0;
        for (int i = 0; i < iterations; i++) {
            byte[] seed = CORPUS.get(random.nextInt(CORPUS.size())).getBytes(StandardCharsets.UTF_8);
            byte[] other = CORPUS.get(random.nextInt(CORPUS.size())).getBytes(StandardCharsets.UTF_8);
            byte[] input = random.nextInt(10) == 0 ? mutator.randomBytes(random.nextInt(200)) : mutator.mutate(seed, other);
            String text = new String(input, StandardCharsets.UTF_8);
            try {
                ReplicationCommand command = ReplicationCommand.parse(text);
                parsed++;
                if (command instanceof StartReplication start && start.options().containsKey("publication_names")) {
                    FeedCommands.publicationNames(start.options().get("publication_names"));
                }
            } catch (IllegalArgumentException | FeedCommands.CommandError e) {
                refused++;
            } catch (RuntimeException | Error e) {
                throw new AssertionError("input " + i + " (seed " + Fuzz.seed() + ") escaped with " + e + ": " + Fuzz.hex(input), e);
            }
        }
        Fuzz.report("ReplicationCommand", iterations, parsed + " parsed, " + refused + " refused");
        assertTrue(refused > 0 && parsed > refused, "parsed " + parsed + ", refused " + refused);
    }

    @Test
    void longQuotedNamesAndValuesDoNotOverflowTheStack() {
        String name = "x\"\"".repeat(200_000);
        DropSlot drop = assertInstanceOf(DropSlot.class, ReplicationCommand.parse("DROP_REPLICATION_SLOT \"" + name + "\""));
        assertEquals(200_000 * 2, drop.name().length());
        String value = "a''".repeat(200_000);
        StartReplication start = assertInstanceOf(StartReplication.class, ReplicationCommand.parse(
                "START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '" + value + "')"));
        assertEquals(200_000 * 2, start.options().get("proto_version").length());
    }
}
