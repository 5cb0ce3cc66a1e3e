// Diagnostics on stderr. Messages go through categories (herd.net, herd.peer, herd.flood,
// herd.places, herd.gui, switchable with QT_LOGGING_RULES) in one of these shapes:
//  - on a terminal: Qt's default ("herd.peer: Hill: link to Jaquez up");
//  - under systemd (stderr is the stream named by JOURNAL_STREAM): "<4>herd.peer: ..." where <N>
//    is the syslog priority, which journald strips and records (journalctl -p warning works);
//  - otherwise (a file, a pipe): "2024-05-01T12:00:00.000Z info herd.peer: ..." (UTC);
//  - --log-format json: one JSON object per line,
//    {"time":...,"level":...,"category":...,"message":...}, for every line herd writes to stderr.
// QT_MESSAGE_PATTERN, when set, wins over the text shapes.
#include "logging.h"

#include <QByteArray>
#include <QDateTime>

#include <sys/stat.h>
#include <unistd.h>

namespace herd::app {

namespace {

LogFormat g_format = LogFormat::Text;

// True when stderr is the journal stream systemd gave us (not merely inherited JOURNAL_STREAM).
bool stderrIsJournal()
{
    const QByteArray stream = qgetenv("JOURNAL_STREAM");
    const qsizetype colon = stream.indexOf(':');
    if (colon <= 0)
        return false;
    bool devOk = false, inoOk = false;
    const qulonglong dev = stream.left(colon).toULongLong(&devOk);
    const qulonglong ino = stream.mid(colon + 1).toULongLong(&inoOk);
    struct stat st {};
    return devOk && inoOk && ::fstat(STDERR_FILENO, &st) == 0 && qulonglong(st.st_dev) == dev
        && qulonglong(st.st_ino) == ino;
}

// One write(2) per line: lines from the network thread and the GUI thread never interleave.
void writeLine(const QByteArray &line)
{
    const char *p = line.constData();
    qsizetype left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, p, size_t(left));
        if (n <= 0)
            break;
        p += n;
        left -= n;
    }
}

QByteArray utcNow()
{
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toLatin1();
}

void timestampedMessageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    writeLine(utcNow() + ' ' + qFormatLogMessage(type, context, message).toUtf8() + '\n');
}

void setTextLogFormat()
{
    if (::isatty(STDERR_FILENO) || qEnvironmentVariableIsSet("QT_MESSAGE_PATTERN"))
        return;   // Qt's default pattern, or the user's
    if (stderrIsJournal()) {
        qSetMessagePattern(QStringLiteral(
            "<%{if-debug}7%{endif}%{if-info}6%{endif}%{if-warning}4%{endif}%{if-critical}3%{endif}"
            "%{if-fatal}2%{endif}>%{if-category}%{category}: %{endif}%{message}"));
    } else {
        qSetMessagePattern(QStringLiteral("%{type} %{if-category}%{category}: %{endif}%{message}"));
        qInstallMessageHandler(timestampedMessageHandler);
    }
}

void appendJsonString(QByteArray &out, const QByteArray &utf8)
{
    out += '"';
    for (const char ch : utf8) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

void writeJson(const char *level, const char *category, const QString &message)
{
    QByteArray line;
    line.reserve(128 + message.size());
    line += "{\"time\":\"";
    line += utcNow();
    line += "\",\"level\":\"";
    line += level;
    line += "\",\"category\":";
    appendJsonString(line, QByteArray(category));
    line += ",\"message\":";
    appendJsonString(line, message.toUtf8());
    line += "}\n";
    writeLine(line);
}

void jsonMessageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const char *level = "debug";
    switch (type) {
    case QtDebugMsg: level = "debug"; break;
    case QtInfoMsg: level = "info"; break;
    case QtWarningMsg: level = "warning"; break;
    case QtCriticalMsg: level = "critical"; break;
    case QtFatalMsg: level = "fatal"; break;
    }
    writeJson(level, context.category ? context.category : "default", message);
}

void print(const char *level, const char *journalPrefix, const QString &message)
{
    if (g_format == LogFormat::Json) {
        writeJson(level, "herd", message);
        return;
    }
    static const bool journal = stderrIsJournal();
    writeLine((journal ? QByteArray(journalPrefix) : QByteArray()) + "herd: " + message.toUtf8() + '\n');
}

} // namespace

bool parseLogFormat(const QString &name, LogFormat *format)
{
    if (name == QLatin1String("json"))
        *format = LogFormat::Json;
    else if (name == QLatin1String("text"))
        *format = LogFormat::Text;
    else
        return false;
    return true;
}

LogFormat logFormatFromArguments(const QStringList &args)
{
    LogFormat format = LogFormat::Text;
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString &a = args.at(i);
        if (a == QLatin1String("--"))
            break;
        if ((a == QLatin1String("--log-format") || a == QLatin1String("-log-format")) && i + 1 < args.size())
            parseLogFormat(args.at(i + 1), &format);
        else if (a.startsWith(QLatin1String("--log-format=")))
            parseLogFormat(a.mid(13), &format);
    }
    return format;
}

void installLogFormat(LogFormat format)
{
    g_format = format;
    if (format == LogFormat::Json)
        qInstallMessageHandler(jsonMessageHandler);
    else
        setTextLogFormat();
}

void printError(const QString &message)
{
    print("critical", "<3>", message);
}

void printInfo(const QString &message)
{
    print("info", "<6>", message);
}

} // namespace herd::app
