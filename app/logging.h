#pragma once
// How herd writes its diagnostics to stderr (both binaries: the monitor and the server).
#include <QString>
#include <QStringList>

namespace herd::app {

enum class LogFormat { Text, Json };

// "text" or "json"; false for anything else.
bool parseLogFormat(const QString &name, LogFormat *format);
// The --log-format value in raw arguments (default text), for the errors printed before the
// command line is parsed: a bad command line in JSON mode is still a JSON line.
LogFormat logFormatFromArguments(const QStringList &args);

// Installs the message handler for qDebug/qInfo/qWarning (all categories), in `format`. Also
// the format of printError/printInfo below.
void installLogFormat(LogFormat format);

// One line on stderr from herd itself, whatever the categories and rules say: an error
// ("herd: ..." in text, level "critical" in JSON, "<3>" in the journal) or a notice.
void printError(const QString &message);
void printInfo(const QString &message);

} // namespace herd::app
