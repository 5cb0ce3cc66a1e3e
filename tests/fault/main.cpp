// herd-fault: the fault harness with an oracle as a standalone soak tool (see faultharness.h and
// `herd-fault --help`). The short ctest version of the same scenario is tst_fault.
#include "faultharness.h"

#include <QCoreApplication>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    herdfault::Options options;
    options.herdBinary = qEnvironmentVariable("HERD_BINARY", QStringLiteral(HERD_FAULT_DEFAULT_HERD));
    bool help = false;
    QString error;
    if (!herdfault::parseCommandLine(QCoreApplication::arguments(), &options, &help, &error)) {
        std::fprintf(stderr, "herd-fault: %s\n", qPrintable(error));
        return 2;
    }
    if (help) {
        std::fputs(qPrintable(herdfault::usage()), stdout);
        return 0;
    }
    const herdfault::Report report = herdfault::run(options, [](const QString &line) {
        std::fprintf(stdout, "%s\n", qPrintable(line));
        std::fflush(stdout);
    });
    std::fputs(qPrintable(herdfault::summary(report, options)), stdout);
    if (!report.setupError.isEmpty())
        return 2;
    return report.passed ? 0 : 1;
}
