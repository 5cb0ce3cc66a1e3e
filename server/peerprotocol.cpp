#include "peerprotocol.h"

#include <algorithm>

#include <QCryptographicHash>
#include <QMessageAuthenticationCode>

namespace herd::peer {

namespace {

constexpr int kMaxFields = 5;

struct Fields {
    QByteArrayView f[kMaxFields];
    int count = 0;   // all the line has, maybe more than kMaxFields
};

Fields split(QByteArrayView line) noexcept
{
    Fields out;
    out.count = protocol::splitFields(line, out.f, kMaxFields);
    return out;
}

std::optional<quint64> number(QByteArrayView text) noexcept
{
    // Digits only: no sign, no white space (toULongLong would take surrounding white space).
    if (text.isEmpty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    bool ok = false;
    const quint64 value = text.toULongLong(&ok);
    if (!ok)
        return std::nullopt;
    return value;
}

} // namespace

std::optional<Hello> parseHello(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    if (s.count != 4 || s.f[0] != "HERD-HELLO")
        return std::nullopt;
    return Hello{s.f[1], s.f[2], s.f[3]};
}

std::optional<Welcome> parseWelcome(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    if (s.count != 4 || s.f[0] != "HERD-WELCOME")
        return std::nullopt;
    return Welcome{s.f[1], s.f[2], s.f[3]};
}

std::optional<Auth> parseAuth(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    if (s.count == 0 || s.f[0] != "HERD-AUTH")
        return std::nullopt;
    if (s.count != 2)
        return Auth{};
    return Auth{s.f[1], true};
}

bool isOk(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    return s.count == 1 && s.f[0] == "HERD-OK";
}

std::optional<Heartbeat> parseHeartbeat(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    if ((s.count != 2 && s.count != 4) || s.f[0] != "HERD-HB")
        return std::nullopt;
    const auto seq = number(s.f[1]);
    if (!seq)
        return std::nullopt;
    Heartbeat hb{*seq, s.f[1], std::nullopt};
    if (s.count == 4) {
        const auto epoch = number(s.f[2]);
        const auto storeSeq = number(s.f[3]);
        if (epoch && storeSeq)
            hb.store = StorePosition{*epoch, *storeSeq};
    }
    return hb;
}

std::optional<quint64> parseAck(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    if (s.count != 2 || s.f[0] != "HERD-ACK")
        return std::nullopt;
    return number(s.f[1]);
}

std::optional<StorePosition> parseSync(QByteArrayView line) noexcept
{
    const Fields s = split(line);
    if (s.count != 3 || s.f[0] != "HERD-SYNC")
        return std::nullopt;
    const auto epoch = number(s.f[1]);
    const auto seq = number(s.f[2]);
    if (!epoch || !seq)
        return std::nullopt;
    return StorePosition{*epoch, *seq};
}

bool isNonce(QByteArrayView s) noexcept
{
    if (s.size() != 32)
        return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

QByteArray formatHello(QByteArrayView dialer, QByteArrayView acceptor, QByteArrayView nonce)
{
    QByteArray out("HERD-HELLO ");
    out.append(dialer).append(' ').append(acceptor).append(' ').append(nonce);
    return out;
}

QByteArray formatWelcome(QByteArrayView acceptor, QByteArrayView nonce, QByteArrayView proof)
{
    QByteArray out("HERD-WELCOME ");
    out.append(acceptor).append(' ').append(nonce).append(' ').append(proof);
    return out;
}

QByteArray formatAuth(QByteArrayView proof)
{
    return QByteArray("HERD-AUTH ").append(proof);
}

QByteArray formatOk()
{
    return QByteArrayLiteral("HERD-OK");
}

QByteArray formatHeartbeat(quint64 seq, StorePosition store)
{
    QByteArray out("HERD-HB ");
    out.append(QByteArray::number(seq)).append(' ').append(QByteArray::number(store.epoch)).append(' ')
        .append(QByteArray::number(store.seq));
    return out;
}

QByteArray formatAck(QByteArrayView seqText)
{
    return QByteArray("HERD-ACK ").append(seqText);
}

QByteArray formatSync(StorePosition since)
{
    QByteArray out("HERD-SYNC ");
    out.append(QByteArray::number(since.epoch)).append(' ').append(QByteArray::number(since.seq));
    return out;
}

QByteArray proof(QByteArrayView secret, QByteArrayView role, QByteArrayView dialer, QByteArrayView acceptor,
                 QByteArrayView dialerNonce, QByteArrayView acceptorNonce)
{
    if (secret.isEmpty())
        return QByteArrayLiteral("-");
    QByteArray message = "herd-v1|";
    message.append(role).append('|').append(dialer).append('|').append(acceptor)
        .append('|').append(dialerNonce).append('|').append(acceptorNonce);
    return QMessageAuthenticationCode::hash(message, secret.toByteArray(), QCryptographicHash::Sha256).toHex();
}

bool proofMatches(QByteArrayView a, QByteArrayView b) noexcept
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool isCanonicalAt(QByteArrayView line, const protocol::Message &m) noexcept
{
    if (m.fieldCount < 1)
        return false;
    qsizetype total = m.fieldCount - 1;
    for (int i = 0; i < m.fieldCount; ++i)
        total += m.fields[i].size();
    if (total != line.size() || m.fields[0].data() != line.data())
        return false;
    for (int i = 1; i < m.fieldCount; ++i) {
        if (m.fields[i].data()[-1] != ' ')
            return false;
    }
    return true;
}

void formatCanonicalAt(QByteArray &out, const protocol::Message &m)
{
    out.clear();
    out.reserve(3 + m.origin.size() + 1 + m.skew.size() + 1 + m.client.size() + 1 + m.location.size() + 1
                + m.time.size());
    out.append("AT ", 3).append(m.origin).append(' ').append(m.skew).append(' ').append(m.client)
        .append(' ').append(m.location).append(' ').append(m.time);
}

} // namespace herd::peer
