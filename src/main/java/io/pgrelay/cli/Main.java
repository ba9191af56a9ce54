package io.pgrelay.cli;

import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;

/** Entry point of {@code pgrelay}: parses the command line and exits with a documented code. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns its exit code (for tests and the launcher alike). */
    public static int execute(String... args) {
        bridgeJulToSlf4j();
        return commandLine().execute(args);
    }

    /** The command line with pgrelay's error handling; tests set its out and err. */
    static CommandLine commandLine() {
        return new CommandLine(new PgRelayCommand())
                .setParameterExceptionHandler(Main::usageError)
                .setExecutionExceptionHandler((e, cl, parsed) -> {
                    cl.getErr().println("pgrelay: " + e.getMessage());
                    return ExitCode.FAILURE;
                });
    }

    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        commandLine.getErr().println("pgrelay: " + e.getMessage());
        commandLine.getErr().println("Try '" + commandLine.getCommandSpec().qualifiedName() + " --help' for usage.");
        return ExitCode.USAGE;
    }

    /** pgjdbc logs through java.util.logging; send it to logback, one format for everything. */
    private static void bridgeJulToSlf4j() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }
}
