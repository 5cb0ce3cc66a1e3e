// herd-server: the nodes as a plain server, the same as `herd --headless`, in a binary that
// links only Qt Core and Network (no display, no GUI libraries installed).
#include "headless.h"
#include "logging.h"
#include "options.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>

#include <csignal>
#include <cstdio>

using namespace herd::app;

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "A proxy herd server: nodes that take client locations (IAMAT), answer nearby-place queries\n"
        "(WHATSAT) and flood every update to each other. The same as herd --headless."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("Accepted for the same command line as herd; always headless."));
    ServerOptions server;
    parser.addOption(headless);
    server.addTo(parser);

    QStringList args;
    for (int i = 0; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);
    installLogFormat(logFormatFromArguments(args));
    auto fail = [](const QString &message) {
        printError(message);
        return 2;
    };
    if (!parser.parse(args))
        return fail(QStringLiteral("%1 (see --help)").arg(parser.errorText()));
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("herd-server"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HERD_VERSION));
    parser.process(app);   // --help, --version: printed, and exits
    if (const QString error = server.read(parser, true); !error.isEmpty())
        return fail(error);
    installLogFormat(server.logFormat);
    if (parser.isSet(server.printConfigOpt)) {
        std::fputs(QJsonDocument(server.config.toJson()).toJson(QJsonDocument::Indented).constData(), stdout);
        return 0;
    }
    installSignalHandlers(&app, true);
    return runHeadless(&app, server);
}
