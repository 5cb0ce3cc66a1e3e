// The peer-link grammar (server/peerprotocol.*) as tables: what each line parses to, what each
// formatter writes, the handshake proofs against independently computed HMACs, and the
// canonical form of an AT line.
#include "peerprotocol.h"

#include <QTest>

using namespace herd;

namespace {

// Every parser's verdict on one line, as one string: what it is and its fields, or "none".
QByteArray describe(QByteArrayView line)
{
    QByteArrayList parts;
    if (const auto h = peer::parseHello(line))
        parts << "hello " + h->dialer.toByteArray() + ' ' + h->acceptor.toByteArray() + ' ' + h->nonce.toByteArray();
    if (const auto w = peer::parseWelcome(line))
        parts << "welcome " + w->acceptor.toByteArray() + ' ' + w->nonce.toByteArray() + ' ' + w->proof.toByteArray();
    if (const auto a = peer::parseAuth(line))
        parts << (a->wellFormed ? "auth " + a->proof.toByteArray() : QByteArray("auth(bad arity)"));
    if (peer::isOk(line))
        parts << "ok";
    if (const auto hb = peer::parseHeartbeat(line)) {
        QByteArray d = "hb " + QByteArray::number(hb->seq) + " text=" + hb->seqText.toByteArray();
        if (hb->store)
            d += " store=" + QByteArray::number(hb->store->epoch) + '/' + QByteArray::number(hb->store->seq);
        parts << d;
    }
    if (const auto ack = peer::parseAck(line))
        parts << "ack " + QByteArray::number(*ack);
    if (const auto sync = peer::parseSync(line))
        parts << "sync " + QByteArray::number(sync->epoch) + '/' + QByteArray::number(sync->seq);
    return parts.isEmpty() ? QByteArray("none") : parts.join(" | ");
}

} // namespace

class tst_PeerProtocol : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parse_data();
    void parse();
    void format();
    void isNonce_data();
    void isNonce();
    void proof();
    void canonicalAt_data();
    void canonicalAt();
};

void tst_PeerProtocol::parse_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QByteArray>("expected");
    const QByteArray nonce = "00112233445566778899aabbccddeeff";
    // Handshake
    QTest::newRow("hello") << "HERD-HELLO Hill Jaquez " + nonce << "hello Hill Jaquez " + nonce;
    QTest::newRow("hello, tabs and CR") << "HERD-HELLO\tHill  Jaquez\r" + nonce << "hello Hill Jaquez " + nonce;
    QTest::newRow("hello, any nonce text") << QByteArray("HERD-HELLO a b c") << QByteArray("hello a b c");
    QTest::newRow("hello, 3 fields") << QByteArray("HERD-HELLO Hill Jaquez") << QByteArray("none");
    QTest::newRow("hello, 5 fields") << "HERD-HELLO Hill Jaquez " + nonce + " x" << QByteArray("none");
    QTest::newRow("hello, lower case") << "herd-hello Hill Jaquez " + nonce << QByteArray("none");
    QTest::newRow("welcome") << QByteArray("HERD-WELCOME Jaquez n p") << QByteArray("welcome Jaquez n p");
    QTest::newRow("welcome, 3 fields") << QByteArray("HERD-WELCOME Jaquez n") << QByteArray("none");
    QTest::newRow("auth") << QByteArray("HERD-AUTH abc") << QByteArray("auth abc");
    QTest::newRow("auth, no proof") << QByteArray("HERD-AUTH") << QByteArray("auth(bad arity)");
    QTest::newRow("auth, 3 fields") << QByteArray("HERD-AUTH a b") << QByteArray("auth(bad arity)");
    QTest::newRow("ok") << QByteArray("HERD-OK") << QByteArray("ok");
    QTest::newRow("ok, spaced") << QByteArray("  HERD-OK \r") << QByteArray("ok");
    QTest::newRow("ok, extra field") << QByteArray("HERD-OK 1") << QByteArray("none");
    // Heartbeats
    QTest::newRow("hb, seq only") << QByteArray("HERD-HB 7") << QByteArray("hb 7 text=7");
    QTest::newRow("hb, with store") << QByteArray("HERD-HB 7 123 45") << QByteArray("hb 7 text=7 store=123/45");
    QTest::newRow("hb, leading zeros echoed") << QByteArray("HERD-HB 007") << QByteArray("hb 7 text=007");
    QTest::newRow("hb, bad store ignored") << QByteArray("HERD-HB 7 x 45") << QByteArray("hb 7 text=7");
    QTest::newRow("hb, 3 fields") << QByteArray("HERD-HB 7 123") << QByteArray("none");
    QTest::newRow("hb, 5 fields") << QByteArray("HERD-HB 7 1 2 3") << QByteArray("none");
    QTest::newRow("hb, not a number") << QByteArray("HERD-HB seven") << QByteArray("none");
    QTest::newRow("hb, negative") << QByteArray("HERD-HB -1") << QByteArray("none");
    QTest::newRow("hb, max") << QByteArray("HERD-HB 18446744073709551615")
                             << QByteArray("hb 18446744073709551615 text=18446744073709551615");
    QTest::newRow("hb, overflow") << QByteArray("HERD-HB 18446744073709551616") << QByteArray("none");
    QTest::newRow("ack") << QByteArray("HERD-ACK 12") << QByteArray("ack 12");
    QTest::newRow("ack, no seq") << QByteArray("HERD-ACK") << QByteArray("none");
    QTest::newRow("ack, two seqs") << QByteArray("HERD-ACK 1 2") << QByteArray("none");
    QTest::newRow("ack, hex") << QByteArray("HERD-ACK 0x10") << QByteArray("none");
    // Catch-up
    QTest::newRow("sync") << QByteArray("HERD-SYNC 99 0") << QByteArray("sync 99/0");
    QTest::newRow("sync, one number") << QByteArray("HERD-SYNC 99") << QByteArray("none");
    QTest::newRow("sync, bad seq") << QByteArray("HERD-SYNC 99 x") << QByteArray("none");
    // Not peer lines
    QTest::newRow("blank") << QByteArray("") << QByteArray("none");
    QTest::newRow("spaces") << QByteArray(" \t ") << QByteArray("none");
    QTest::newRow("unknown HERD-") << QByteArray("HERD-BYE") << QByteArray("none");
    QTest::newRow("iamat") << QByteArray("IAMAT a +1+1 1") << QByteArray("none");
    // What the formatters write parses back
    QTest::newRow("formatted hello") << peer::formatHello("A", "B", "00112233445566778899aabbccddeeff")
                           << QByteArray("hello A B 00112233445566778899aabbccddeeff");
    QTest::newRow("formatted welcome") << peer::formatWelcome("B", "n", "-") << QByteArray("welcome B n -");
    QTest::newRow("formatted auth") << peer::formatAuth("-") << QByteArray("auth -");
    QTest::newRow("formatted ok") << peer::formatOk() << QByteArray("ok");
    QTest::newRow("formatted hb") << peer::formatHeartbeat(1, {2, 3}) << QByteArray("hb 1 text=1 store=2/3");
    QTest::newRow("formatted ack") << peer::formatAck("1") << QByteArray("ack 1");
    QTest::newRow("formatted sync") << peer::formatSync({2, 3}) << QByteArray("sync 2/3");
}

void tst_PeerProtocol::parse()
{
    QFETCH(QByteArray, line);
    QFETCH(QByteArray, expected);
    QCOMPARE(describe(line), expected);
}

void tst_PeerProtocol::format()
{
    QCOMPARE(peer::formatHello("Hill", "Jaquez", "n1"), QByteArray("HERD-HELLO Hill Jaquez n1"));
    QCOMPARE(peer::formatWelcome("Jaquez", "n2", "p"), QByteArray("HERD-WELCOME Jaquez n2 p"));
    QCOMPARE(peer::formatAuth("p"), QByteArray("HERD-AUTH p"));
    QCOMPARE(peer::formatOk(), QByteArray("HERD-OK"));
    QCOMPARE(peer::formatHeartbeat(3, {17, 0}), QByteArray("HERD-HB 3 17 0"));
    QCOMPARE(peer::formatAck("007"), QByteArray("HERD-ACK 007"));
    QCOMPARE(peer::formatSync({0, 0}), QByteArray("HERD-SYNC 0 0"));
    QCOMPARE(peer::formatSync({18446744073709551615ULL, 5}), QByteArray("HERD-SYNC 18446744073709551615 5"));
}

void tst_PeerProtocol::isNonce_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::newRow("32 hex") << QByteArray("00112233445566778899aabbccddeeff") << true;
    QTest::newRow("31 hex") << QByteArray("00112233445566778899aabbccddeef") << false;
    QTest::newRow("33 hex") << QByteArray("00112233445566778899aabbccddeeff0") << false;
    QTest::newRow("upper case") << QByteArray("00112233445566778899AABBCCDDEEFF") << false;
    QTest::newRow("not hex") << QByteArray("00112233445566778899aabbccddeefg") << false;
    QTest::newRow("empty") << QByteArray() << false;
}

void tst_PeerProtocol::isNonce()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QCOMPARE(peer::isNonce(text), valid);
}

void tst_PeerProtocol::proof()
{
    const QByteArray dn = "00112233445566778899aabbccddeeff";
    const QByteArray an = "ffeeddccbbaa99887766554433221100";
    // Expected values computed outside Qt (Python's hmac module, SHA-256) over
    // "herd-v1|<role>|<dialer>|<acceptor>|<dialer nonce>|<acceptor nonce>".
    const QByteArray welcome = peer::proof("s3cret", "welcome", "Hill", "Jaquez", dn, an);
    QCOMPARE(welcome, QByteArray("c43828c4fa4a6fabca18d51b6911f47a608fb8b1a0221fb5f44a9f80c2727c11"));
    const QByteArray auth = peer::proof("s3cret", "auth", "Hill", "Jaquez", dn, an);
    QCOMPARE(auth, QByteArray("e4a3f278c2483dc6958e042ea8a71d1562d06fd7d760d19377b744762224e597"));
    QCOMPARE(peer::proof("", "auth", "Hill", "Jaquez", dn, an), QByteArray("-"));
    QVERIFY(peer::proofMatches(welcome, welcome));
    QVERIFY(!peer::proofMatches(welcome, auth));
    QVERIFY(!peer::proofMatches(welcome, welcome.left(63)));
    QVERIFY(!peer::proofMatches("-", ""));
    QVERIFY(peer::proofMatches("", ""));
}

void tst_PeerProtocol::canonicalAt_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<bool>("canonical");
    QTest::addColumn<QByteArray>("formatted");
    const QByteArray at = "AT Hill +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1479413884.392014450";
    QTest::newRow("single spaces") << at << true << at;
    QTest::newRow("double space") << QByteArray("AT Hill  +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1479413884.392014450")
                                  << false << at;
    QTest::newRow("tab") << QByteArray("AT\tHill +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1479413884.392014450")
                         << false << at;
    QTest::newRow("leading space") << " " + at << false << at;
    QTest::newRow("trailing CR") << at + '\r' << false << at;
}

void tst_PeerProtocol::canonicalAt()
{
    QFETCH(QByteArray, line);
    QFETCH(bool, canonical);
    QFETCH(QByteArray, formatted);
    const protocol::Message m = protocol::parse(line);
    QCOMPARE(m.kind, protocol::Kind::At);
    QCOMPARE(peer::isCanonicalAt(line, m), canonical);
    QByteArray out = "old contents";
    peer::formatCanonicalAt(out, m);
    QCOMPARE(out, formatted);
}

QTEST_GUILESS_MAIN(tst_PeerProtocol)
#include "tst_peerprotocol.moc"
