// The console pane against a real one-node herd over real TCP: replies cut and shown, WHATSAT
// pretty-printed, invalid lines in red, history, completion, "IAMAT now", connection errors.
#include "testherds.h"
#include "consolewidget.h"
#include "herd.h"
#include "node.h"
#include "protocol.h"

#include <QAbstractItemView>
#include <QCompleter>
#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStringListModel>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBlock>
#include <QTextDocument>

using herd::ConsoleWidget;
using herd::HerdConfig;
using herd::NodeConfig;

using herdtest::singleNode;

namespace {

const QString kIamat = QStringLiteral("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503");
const QString kWhatsat = QStringLiteral("WHATSAT kiwi.cs.ucla.edu 10 2");

// The colour of the output block that contains `text`; invalid QColor if there is none.
QColor colourOfLine(const QPlainTextEdit *output, const QString &text)
{
    for (QTextBlock b = output->document()->begin(); b.isValid(); b = b.next()) {
        if (b.text().contains(text) && b.begin() != b.end())
            return b.begin().fragment().charFormat().foreground().color();
    }
    return {};
}

} // namespace

class tst_Console : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void iamatReplyShown();
    void whatsatPrettyPrintedAndComplete();
    void repliesFollowCommandOrder();
    void invalidShownInRed();
    void historyRecallsWithUpAndDown();
    void historyPersists();
    void completionOffersCommandsAndClients();
    void iamatNowIsValid();
    void connectionErrorIsOneGreyLine();
    void linesAreTaggedWrappedAndClearable();
    void completionInsideTheLineAddsNoSecondSpace();

private:
    QList<QPair<QString, QPair<QString, quint16>>> nodes() const
    {
        return {{QStringLiteral("Hill"), {QStringLiteral("127.0.0.1"), m_herd->node(QStringLiteral("Hill"))->port()}}};
    }
    // Waits for replies until `count` have arrived in all.
    static bool waitForReplies(QSignalSpy &spy, int count)
    {
        return QTest::qWaitFor([&] { return spy.count() >= count; }, 15000);
    }

    QTemporaryDir m_settingsDir;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    std::unique_ptr<ConsoleWidget> m_console;
};

void tst_Console::initTestCase()
{
    // Never the user's settings (history, last location): a throwaway organisation and path.
    QVERIFY(m_settingsDir.isValid());
    QCoreApplication::setOrganizationName(QStringLiteral("herd-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_console"));
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
}

void tst_Console::init()
{
    QSettings().clear();   // each test starts with no history
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_herd = std::make_unique<herd::Herd>(singleNode(m_dir->filePath(QStringLiteral("logs"))));
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    m_console = std::make_unique<ConsoleWidget>();
    m_console->setNodes(nodes());
    m_console->selectNode(QStringLiteral("Hill"));
    m_console->resize(800, 500);
    m_console->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_console.get()));
}

void tst_Console::cleanup()
{
    m_console.reset();
    m_herd.reset();
    m_dir.reset();
}

void tst_Console::iamatReplyShown()
{
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);
    QVERIFY(replies.wait());
    QCOMPARE(replies.count(), 1);
    QCOMPARE(replies.at(0).at(0).toString(), QStringLiteral("Hill"));
    const QByteArray reply = replies.at(0).at(1).toByteArray();
    QVERIFY2(reply.startsWith("AT Hill ") && reply.endsWith(" kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n"),
             reply.constData());
    QCOMPARE(herd::protocol::parse(reply.chopped(1)).kind, herd::protocol::Kind::At);
    const QString transcript = m_console->transcript();
    QVERIFY2(transcript.contains(QStringLiteral("> ") + kIamat), qPrintable(transcript));
    QVERIFY2(transcript.contains(QStringLiteral("< ") + QString::fromUtf8(reply.chopped(1))), qPrintable(transcript));
}

void tst_Console::whatsatPrettyPrintedAndComplete()
{
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);
    QVERIFY(waitForReplies(replies, 1));
    m_console->sendCommand(kWhatsat);
    QVERIFY(waitForReplies(replies, 2));

    // One signal for the whole reply: the AT line, the JSON, the blank line.
    const QByteArray reply = replies.at(1).at(1).toByteArray();
    QVERIFY2(reply.startsWith("AT Hill ") && reply.endsWith("\n\n"), reply.constData());
    QCOMPARE(reply.count("\n\n"), 1);
    const qsizetype newline = reply.indexOf('\n');
    QVERIFY(newline > 0);
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(reply.mid(newline + 1), &error);
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QCOMPARE(doc.object().value(QStringLiteral("status")).toString(), QStringLiteral("OK"));

    // The node sends compact JSON; the pane shows it indented, one key per line, under the AT line.
    const QString transcript = m_console->transcript();
    QVERIFY2(transcript.contains(QStringLiteral("< ") + QString::fromUtf8(reply.left(newline)) + QLatin1Char('\n')),
             qPrintable(transcript));
    const QList<QByteArray> pretty = doc.toJson(QJsonDocument::Indented).trimmed().split('\n');
    QVERIFY(pretty.size() > 5);
    QString expected;
    for (const QByteArray &line : pretty)
        expected += QStringLiteral("\n  ") + QString::fromUtf8(line);
    QVERIFY2(transcript.contains(expected), qPrintable(transcript));
    QVERIFY(transcript.contains(QStringLiteral("\n      \"status\": \"OK\"")));
    QCOMPARE(replies.count(), 2);   // nothing left over to be mistaken for another reply
}

void tst_Console::repliesFollowCommandOrder()
{
    // Sent back to back, before anything is connected: queued, then cut by the FIFO of what each
    // command expects: a line, a WHATSAT up to its blank line, a "? " line for a WHATSAT of an
    // unknown client, then a line again.
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);
    m_console->sendCommand(kWhatsat);
    m_console->sendCommand(QStringLiteral("WHATSAT nobody 10 2"));
    m_console->sendCommand(QStringLiteral("IAMAT second +1+2 1.5"));
    QVERIFY(waitForReplies(replies, 4));
    QVERIFY(replies.at(0).at(1).toByteArray().startsWith("AT Hill "));
    QVERIFY(replies.at(0).at(1).toByteArray().endsWith(" 1621464827.959498503\n"));
    QVERIFY(replies.at(1).at(1).toByteArray().endsWith("\n\n"));
    QCOMPARE(replies.at(2).at(1).toByteArray(), QByteArray("? WHATSAT nobody 10 2\n"));
    QVERIFY(replies.at(3).at(1).toByteArray().endsWith(" second +1+2 1.5\n"));
    QCOMPARE(replies.count(), 4);
}

void tst_Console::invalidShownInRed()
{
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(QStringLiteral("HELLO  world"));
    QVERIFY(replies.wait());
    QCOMPARE(replies.at(0).at(1).toByteArray(), QByteArray("? HELLO  world\n"));
    QVERIFY(m_console->transcript().contains(QStringLiteral("< ? HELLO  world")));
    const auto *output = m_console->findChild<QPlainTextEdit *>(QStringLiteral("output"));
    QVERIFY(output);
    QVERIFY(output->isReadOnly());
    QCOMPARE(colourOfLine(output, QStringLiteral("< ? HELLO  world")), QColor(0xc6, 0x28, 0x28));
    QVERIFY(colourOfLine(output, QStringLiteral("> HELLO  world")) != QColor(0xc6, 0x28, 0x28));
}

void tst_Console::historyRecallsWithUpAndDown()
{
    auto *input = m_console->findChild<QLineEdit *>(QStringLiteral("commandLine"));
    QVERIFY(input);
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    // Typed and entered, as a user would.
    input->setFocus();
    QTest::keyClicks(input, kIamat);
    QCOMPARE(input->text(), kIamat);
    auto *completer = m_console->findChild<QCompleter *>();
    QVERIFY(completer && !completer->popup()->isVisible());   // "IAMAT" typed in full: nothing to offer
    QTest::keyClick(input, Qt::Key_Return);
    QVERIFY(waitForReplies(replies, 1));
    QVERIFY(input->text().isEmpty());
    m_console->sendCommand(kWhatsat);
    QVERIFY(waitForReplies(replies, 2));

    input->setText(QStringLiteral("draft"));
    QTest::keyClick(input, Qt::Key_Up);
    QCOMPARE(input->text(), kWhatsat);
    QTest::keyClick(input, Qt::Key_Up);
    QCOMPARE(input->text(), kIamat);
    QTest::keyClick(input, Qt::Key_Up);   // the oldest: stays
    QCOMPARE(input->text(), kIamat);
    QTest::keyClick(input, Qt::Key_Down);
    QCOMPARE(input->text(), kWhatsat);
    QTest::keyClick(input, Qt::Key_Down);
    QCOMPARE(input->text(), QStringLiteral("draft"));   // back to what was being typed

    // Up then Enter resends it.
    QTest::keyClick(input, Qt::Key_Up);
    QTest::keyClick(input, Qt::Key_Return);
    QVERIFY(waitForReplies(replies, 3));
    QVERIFY(replies.at(2).at(1).toByteArray().endsWith("\n\n"));
}

void tst_Console::historyPersists()
{
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);
    QVERIFY(replies.wait());
    QCOMPARE(QSettings().value(QStringLiteral("console/history")).toStringList(), QStringList{kIamat});

    // A new console (the next run) recalls it; the list is capped.
    for (int i = 0; i < ConsoleWidget::kMaxHistory + 10; ++i)
        m_console->sendCommand(QStringLiteral("IAMAT c%1 +1+2 %1").arg(i));
    QVERIFY(waitForReplies(replies, ConsoleWidget::kMaxHistory + 11));
    const QStringList stored = QSettings().value(QStringLiteral("console/history")).toStringList();
    QCOMPARE(int(stored.size()), int(ConsoleWidget::kMaxHistory));
    QCOMPARE(stored.constLast(), QStringLiteral("IAMAT c%1 +1+2 %1").arg(ConsoleWidget::kMaxHistory + 9));
    m_console.reset();   // saved on the way out
    ConsoleWidget next;
    auto *input = next.findChild<QLineEdit *>(QStringLiteral("commandLine"));
    QVERIFY(input);
    QTest::keyClick(input, Qt::Key_Up);
    QCOMPARE(input->text(), stored.constLast());
}

void tst_Console::completionOffersCommandsAndClients()
{
    auto *input = m_console->findChild<QLineEdit *>(QStringLiteral("commandLine"));
    auto *completer = m_console->findChild<QCompleter *>();
    QVERIFY(input && completer);
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);   // the reply teaches the console this client ID
    QVERIFY(replies.wait());

    m_console->activateWindow();
    input->setFocus();
    QTest::keyClicks(input, QStringLiteral("wha"));
    QCOMPARE(completer->completionCount(), 1);
    QCOMPARE(completer->currentCompletion(), QStringLiteral("WHATSAT"));
    QVERIFY(completer->popup()->isVisible());
    // Down to the first candidate, Enter picks it: the word is replaced, the line not sent.
    QTest::keyClick(completer->popup(), Qt::Key_Down);
    QTest::keyClick(completer->popup(), Qt::Key_Return);
    QVERIFY(!completer->popup()->isVisible());
    QCOMPARE(input->text(), QStringLiteral("WHATSAT "));
    QCOMPARE(replies.count(), 1);

    QTest::keyClicks(input, QStringLiteral("ki"));
    QCOMPARE(completer->completionPrefix(), QStringLiteral("ki"));
    QCOMPARE(completer->currentCompletion(), QStringLiteral("kiwi.cs.ucla.edu"));
    QTest::keyClick(completer->popup(), Qt::Key_Down);
    QTest::keyClick(completer->popup(), Qt::Key_Return);
    QCOMPARE(input->text(), QStringLiteral("WHATSAT kiwi.cs.ucla.edu "));
    QTest::keyClicks(input, QStringLiteral("10 2"));
    QVERIFY(!completer->popup()->isVisible());   // no candidates for the radius
    QTest::keyClick(input, Qt::Key_Return);
    QVERIFY(waitForReplies(replies, 2));
    QVERIFY(replies.at(1).at(1).toByteArray().endsWith("\n\n"));
}

void tst_Console::iamatNowIsValid()
{
    auto *input = m_console->findChild<QLineEdit *>(QStringLiteral("commandLine"));
    auto *button = m_console->findChild<QPushButton *>(QStringLiteral("iamatNowButton"));
    QVERIFY(input && button);
    const qint64 before = herd::protocol::now().sec;
    QTest::mouseClick(button, Qt::LeftButton);
    const QByteArray line = input->text().toUtf8();
    const herd::protocol::Message m = herd::protocol::parse(line);
    QVERIFY2(m.kind == herd::protocol::Kind::Iamat, line.constData());
    QVERIFY2(m.client.startsWith("console-"), line.constData());
    QCOMPARE(m.location.toByteArray(), QByteArray("+34.068930-118.445127"));
    QVERIFY2(m.time.size() == 10 + 1 + 9, line.constData());   // nine fraction digits
    QVERIFY(m.timestamp.sec >= before && m.timestamp.sec <= herd::protocol::now().sec);

    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    QTest::keyClick(input, Qt::Key_Return);
    QVERIFY(replies.wait());
    QVERIFY2(replies.at(0).at(1).toByteArray().startsWith("AT Hill +"), replies.at(0).at(1).toByteArray().constData());

    // The next one reuses the last client and location used.
    m_console->sendCommand(QStringLiteral("IAMAT phone -33.8688+151.2093 1.5"));
    QVERIFY(waitForReplies(replies, 2));
    QTest::mouseClick(button, Qt::LeftButton);
    const QByteArray again = input->text().toUtf8();
    const herd::protocol::Message m2 = herd::protocol::parse(again);
    QVERIFY2(m2.kind == herd::protocol::Kind::Iamat, again.constData());
    QCOMPARE(m2.client.toByteArray(), QByteArray("phone"));
    QCOMPARE(m2.location.toByteArray(), QByteArray("-33.8688+151.2093"));
}

void tst_Console::linesAreTaggedWrappedAndClearable()
{
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);
    QVERIFY(replies.wait());
    auto *output = m_console->findChild<QPlainTextEdit *>(QStringLiteral("output"));
    QVERIFY(output);
    QVERIFY2(m_console->transcript().contains(QStringLiteral("Hill > ") + kIamat), qPrintable(m_console->transcript()));
    QVERIFY2(m_console->transcript().contains(QStringLiteral("Hill < AT Hill ")), qPrintable(m_console->transcript()));
    // A line far wider than the pane wraps onto several visual lines instead of being cut.
    QVERIFY(output->lineWrapMode() != QPlainTextEdit::NoWrap);
    m_console->resize(400, 300);
    m_console->show();
    const QString longLine = QStringLiteral("IAMAT ") + QString(300, QLatin1Char('x')) + QStringLiteral(" +1+2 1");
    m_console->sendCommand(longLine);
    QVERIFY(waitForReplies(replies, 2));
    QTextBlock sent;
    for (QTextBlock b = output->document()->begin(); b.isValid(); b = b.next())
        if (b.text().contains(longLine))
            sent = b;
    QVERIFY(sent.isValid());
    QTRY_VERIFY(sent.layout() && sent.layout()->lineCount() > 1);
    auto *button = m_console->findChild<QPushButton *>(QStringLiteral("clearButton"));
    QVERIFY(button);
    QTest::mouseClick(button, Qt::LeftButton);
    QVERIFY(m_console->transcript().isEmpty());
}

void tst_Console::completionInsideTheLineAddsNoSecondSpace()
{
    auto *input = m_console->findChild<QLineEdit *>(QStringLiteral("commandLine"));
    auto *completer = m_console->findChild<QCompleter *>();
    QVERIFY(input && completer);
    m_console->show();
    m_console->activateWindow();
    input->setFocus();
    input->setText(QStringLiteral(" kiwi 10 2"));   // the command word missing in front
    input->setCursorPosition(0);
    QTest::keyClicks(input, QStringLiteral("wha"));
    QVERIFY(completer->popup()->isVisible());
    QTest::keyClick(completer->popup(), Qt::Key_Down);
    QTest::keyClick(completer->popup(), Qt::Key_Return);
    QCOMPARE(input->text(), QStringLiteral("WHATSAT kiwi 10 2"));
    QCOMPARE(input->cursorPosition(), 8);
}

void tst_Console::connectionErrorIsOneGreyLine()
{
    QSignalSpy replies(m_console.get(), &ConsoleWidget::replyReceived);
    m_console->sendCommand(kIamat);
    QVERIFY(replies.wait());
    auto *output = m_console->findChild<QPlainTextEdit *>(QStringLiteral("output"));
    QVERIFY(output);

    // The node stops: the open connection is closed under the console.
    const int blocksBefore = output->blockCount();
    m_herd->stopNode(QStringLiteral("Hill"));
    QTRY_VERIFY(output->blockCount() == blocksBefore + 1);
    const QString closed = output->document()->lastBlock().text();
    QVERIFY2(closed.startsWith(QStringLiteral("Hill (127.0.0.1:")), qPrintable(closed));
    // Nothing was pending on it: said as information, not as a failure.
    QVERIFY2(closed.contains(QStringLiteral("nothing was pending")) && !closed.contains(QStringLiteral("not answered")),
             qPrintable(closed));
    QCOMPARE(colourOfLine(output, closed), QColor(0x75, 0x75, 0x75));

    // Nothing listens there now: reconnecting on demand is refused, one grey line.
    m_console->sendCommand(kIamat);
    QTRY_VERIFY(output->blockCount() == blocksBefore + 3);
    const QString refused = output->document()->lastBlock().text();
    QVERIFY2(refused.contains(QStringLiteral("not answered")), qPrintable(refused));
    QCOMPARE(colourOfLine(output, refused), QColor(0x75, 0x75, 0x75));
    QCOMPARE(replies.count(), 1);

    // Started again (on a new free port): told the new address, the next command goes through.
    QVERIFY(m_herd->startNode(QStringLiteral("Hill")));
    m_console->setNodes(nodes());
    m_console->sendCommand(kIamat);
    QVERIFY(replies.wait());
    QVERIFY(replies.at(1).at(1).toByteArray().startsWith("AT Hill "));
}

QTEST_MAIN(tst_Console)
#include "tst_console.moc"
