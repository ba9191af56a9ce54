package io.pgrelay.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "pgrelay",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Relays PostgreSQL logical replication: applies an upstream's pgoutput stream to a downstream database, exactly once.",
        subcommands = {RunCommand.class, CheckCommand.class, StatusCommand.class, SlotCommand.class, DemoCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:clean stop, or a command that succeeded",
                "1:runtime failure that needs an operator (run: the relay stopped at its last checkpoint)",
                "2:usage or configuration error; nothing was started or changed",
                "3:check found a FAIL (run: the preflight did, and the relay did not start)"})
final class PgRelayCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: try 'pgrelay run -c FILE' (or 'pgrelay slot list -c FILE')");
    }
}
