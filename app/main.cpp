// herd: the monitor by default, or --headless. Everything on the command line (and the config
// it names) is read and checked before any application object exists, so every error is one
// line on stderr even where no display is available.
#include "headless.h"
#include "logging.h"
#include "options.h"
#include "monitorapp.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>

#include <csignal>
#include <cstdio>
#include <memory>

using namespace herd::app;

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "A proxy herd: nodes that take client locations (IAMAT), answer nearby-place queries\n"
        "(WHATSAT) and flood every update to each other. Without --headless, the live monitor."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption headless(QStringLiteral("headless"), QStringLiteral("Run the nodes with no GUI."));
    ServerOptions server;
    MonitorOptions monitor;
    parser.addOption(headless);
    server.addTo(parser);
    monitor.addTo(parser);

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
    if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"))
        || parser.isSet(QStringLiteral("version"))) {
        QCoreApplication app(argc, argv);
        QCoreApplication::setApplicationName(QStringLiteral("herd"));
        QCoreApplication::setApplicationVersion(QStringLiteral(HERD_VERSION));
        parser.process(app);   // prints, and exits
        return 0;
    }
    const bool isHeadless = parser.isSet(headless);
    if (const QString error = server.read(parser, isHeadless); !error.isEmpty())
        return fail(error);
    installLogFormat(server.logFormat);
    if (const QString error = monitor.read(parser, server, headless); !error.isEmpty())
        return fail(error);

    if (parser.isSet(server.printConfigOpt)) {
        std::fputs(QJsonDocument(server.config.toJson()).toJson(QJsonDocument::Indented).constData(), stdout);
        return 0;
    }

    if (isHeadless) {
        QCoreApplication app(argc, argv);
        QCoreApplication::setApplicationName(QStringLiteral("herd"));
        QCoreApplication::setApplicationVersion(QStringLiteral(HERD_VERSION));
        installSignalHandlers(&app, true);
        return runHeadless(&app, server);
    }
    QApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("herd"));
    QCoreApplication::setOrganizationName(QStringLiteral("herd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HERD_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("herd"));
    installSignalHandlers(&app, false);
    return runMonitor(&app, server, monitor);
}
