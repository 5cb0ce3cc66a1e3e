#pragma once
#include "config.h"
#include <QJsonObject>
#include <QObject>
#include <functional>
#include <memory>

namespace herd {

// A nearby-search request, already validated by the protocol layer.
struct PlacesQuery {
    double lat = 0;
    double lng = 0;
    double radiusKm = 0;   // 0 < r <= 50
    int bound = 1;         // 1..20: the answer's results[] holds at most this many entries
};

// Answers nearby searches with a JSON object in the legacy Nearby Search shape:
// { "html_attributions": [...], "results": [...], "status": "...", optional "next_page_token",
//   optional "error_message" }, results already cut to the query's bound.
// Failures are answers too: status REQUEST_DENIED / OVER_QUERY_LIMIT / INVALID_REQUEST /
// UNKNOWN_ERROR ... with an error_message that never contains the API key.
class PlacesProvider : public QObject {
    Q_OBJECT
public:
    using Callback = std::function<void(const QJsonObject &answer)>;

    explicit PlacesProvider(QObject *parent = nullptr) : QObject(parent) {}
    ~PlacesProvider() override = default;

    // Starts a search. The callback runs exactly once, in this object's thread, never
    // synchronously inside search() (always from the event loop), unless `context` is destroyed
    // first, in which case it never runs.
    virtual void search(const PlacesQuery &query, QObject *context, Callback callback) = 0;

    // "google", "google-legacy" or "offline": what "auto" resolved to.
    virtual QString kind() const = 0;

    // Builds the provider the config asks for. "auto" is google when the API key variable is set
    // and non-empty, else offline. Returns nullptr and sets *error (one line) when the config
    // cannot work (unknown provider, unreadable or malformed dataset, a bad endpoint URL...).
    // google / google-legacy without a key still build: each search answers REQUEST_DENIED.
    static std::unique_ptr<PlacesProvider> create(const PlacesConfig &config, QString *error,
                                                  QObject *parent = nullptr);
};

} // namespace herd
