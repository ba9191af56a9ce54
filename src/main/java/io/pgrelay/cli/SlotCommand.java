package io.pgrelay.cli;

import ch.qos.logback.classic.Level;
import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.FeedSlots;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgrelay slot list | create NAME | drop NAME -c FILE}: the feed slots of the relay
 * configured in FILE. When the relay is stopped (its data.dir lock is free) the slots are read and
 * changed in data.dir, holding the lock meanwhile; when it runs, through its feed, as any feed
 * client would.
 */
@Command(name = "slot", mixinStandardHelpOptions = true,
        description = {
                "List, create and drop the feed slots of the relay configured in FILE.",
                "A stopped relay's slots are changed in its data.dir (holding the data directory's lock, so the relay"
                        + " cannot start meanwhile); a running relay's through its feed (feed.listen, feed.user, feed.password)."},
        subcommands = {SlotCommand.ListSlots.class, SlotCommand.CreateSlot.class, SlotCommand.DropSlot.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:done",
                "1:runtime failure: the slot exists, does not exist or is active; the running relay's feed does not"
                        + " answer or refuses the login; data.dir cannot be read",
                "2:usage or configuration error (an invalid slot name, feed.listen empty, data.dir missing):"
                        + " nothing was changed"})
final class SlotCommand implements Runnable {

    static final String NAME_RULE = "1 to 63 lower-case letters, digits and underscores";

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing slot command: list, create NAME or drop NAME");
    }

    /** The configuration file, as {@code pgrelay run} takes it. */
    static final class ConfigOption {
        @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
                description = "The relay's properties file (the one 'pgrelay run' uses); every key can be overridden"
                        + " by a PGRELAY_* environment variable.")
        Path file;
    }

    /** Loads the configuration, opens the slots, runs, and turns failures into one line and an exit code. */
    abstract static class SlotAction implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConfigOption config;

        @Override
        public final Integer call() {
            quietLogs();
            PrintWriter err = spec.commandLine().getErr();
            RelayConfig relayConfig;
            try {
                ConfigLoader.Result loaded = ConfigLoader.loadWithWarnings(config.file, System.getenv());
                loaded.warnings().forEach(warning -> err.println("pgrelay: config warning: " + warning));
                relayConfig = loaded.config();
            } catch (ConfigException e) {
                e.problems().forEach(problem -> err.println("pgrelay: config: " + problem));
                return ExitCode.USAGE;
            }
            try (SlotStore store = SlotStores.open(relayConfig, String.valueOf(config.file))) {
                return run(store, spec.commandLine().getOut());
            } catch (SlotFailure e) {
                err.println("pgrelay: " + e.getMessage());
                return e.exitCode();
            } finally {
                spec.commandLine().getOut().flush();
                err.flush();
            }
        }

        abstract int run(SlotStore store, PrintWriter out) throws SlotFailure;
    }

    /** A slot name argument, checked before anything is opened. */
    abstract static class NamedSlotAction extends SlotAction {
        String name;

        @Parameters(index = "0", paramLabel = "NAME", description = "The slot: " + NAME_RULE + ".")
        void name(String value) {
            if (!FeedSlots.isValidName(value)) {
                throw new ParameterException(spec.commandLine(), invalidName(value));
            }
            name = value;
        }
    }

    static String invalidName(String name) {
        return "invalid slot name \"" + name + "\": a feed slot name is " + NAME_RULE;
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the feed slots: name, confirmed LSN, lost, active (unknown while the relay is stopped)"
                    + " and how many bytes of changelog each is behind.")
    static final class ListSlots extends SlotAction {
        @Option(names = "--json", description = "Print one JSON object instead of a table.")
        boolean json;

        @Override
        int run(SlotStore store, PrintWriter out) throws SlotFailure {
            SlotListing listing = store.list();
            out.print(json ? SlotFormat.json(listing) : SlotFormat.table(listing));
            return ExitCode.OK;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a durable feed slot at the end of the relay's changelog: its client receives every"
                    + " transaction the relay records from then on.")
    static final class CreateSlot extends NamedSlotAction {
        @Option(names = "--if-not-exists", description = "A slot of that name already existing is not an error.")
        boolean ifNotExists;

        @Override
        int run(SlotStore store, PrintWriter out) throws SlotFailure {
            OptionalLong created = store.create(name);
            if (created.isEmpty()) {
                if (!ifNotExists) {
                    throw SlotFailure.exists(name);
                }
                out.println("feed slot \"" + name + "\" already exists");
                return ExitCode.OK;
            }
            out.println("created feed slot \"" + name + "\" at " + SlotFormat.lsn(created.getAsLong()));
            return ExitCode.OK;
        }
    }

    @Command(name = "drop", mixinStandardHelpOptions = true,
            description = "Drop a feed slot: the relay no longer keeps changelog for it. Refused while a client streams it.")
    static final class DropSlot extends NamedSlotAction {
        @Option(names = "--if-exists", description = "A missing slot is not an error.")
        boolean ifExists;

        @Override
        int run(SlotStore store, PrintWriter out) throws SlotFailure {
            if (!store.drop(name)) {
                if (!ifExists) {
                    throw SlotFailure.missing(name);
                }
                out.println("feed slot \"" + name + "\" does not exist");
                return ExitCode.OK;
            }
            out.println("dropped feed slot \"" + name + "\"");
            return ExitCode.OK;
        }
    }

    /**
     * The command's output is its answer: the relay's own INFO lines (changelog opened, ...) would
     * only clutter it. PGRELAY_LOG_LEVEL still decides when set.
     */
    private static void quietLogs() {
        if (System.getenv("PGRELAY_LOG_LEVEL") == null
                && LoggerFactory.getLogger("io.pgrelay") instanceof ch.qos.logback.classic.Logger logger) {
            logger.setLevel(Level.WARN);
        }
    }
}
