// German for Go's sentences (./en.ts, generated from the Go code): the same keys and {1}, {2}, … placeholders;
// written by hand, so a new or reworded sentence in Go fails `npm run check` here until it is translated.
import type { Part } from '../../types';
import type { errorsEn } from './en';

export const errorsDe: Part<typeof errorsEn> = {
  // app_localserver.go
  'go.76b2cf88': "Der Ordner des lokalen Servers konnte nicht ermittelt werden: {1}",
  'go.d9c6ebe6': "Die Modelle des lokalen Servers konnten nicht aufgelistet werden: {1}",
  'go.fbb9d8c8': "Docker hat nicht innerhalb von {1} gemeldet, wie es um den lokalen Server steht: versuchen Sie es in einer Minute erneut",
  // backend/apperr/text.go
  'go.845df81c': "abgebrochen",
  // backend/cache/cache.go
  'go.eee064a7': "Kein Cache-Ordner festgelegt; wählen Sie einen in den Einstellungen oder mit --cache-dir",
  'go.9ff31936': "Der Cache-Ordner {1} ist nicht nutzbar: {2}; wählen Sie einen anderen in den Einstellungen oder mit --cache-dir",
  // backend/inference/model.go
  'go.788b27f3': "Das Modell {1} auf {2} passt nicht zum Modellvertrag von NeMo Transcribe: {3}",
  'go.58827a22': "Das Modell {1} lieferte eine Ausgabe {2}, die nicht genau ein Textelement ist",
  'go.cbc6f62b': "Das Modell {1} lieferte eine Ausgabe {2}, die nicht genau ein JSON-Element ist",
  'go.8c2718b1': "Modell {1}: {2}",
  // backend/inference/retry.go
  'go.1ab518bf': "{1} ({2} Versuche in {3})",
  // backend/inference/server.go
  'go.5cee2d1e': "Keine Serveradresse festgelegt: geben Sie host:port des gRPC-Endpunkts eines Triton-Servers ein (meist Port 8001)",
  'go.3afb5f91': "Der Audioeingang {1} ist im Vertrag nicht vorgesehen: verwenden Sie {2}, {3} oder {4} oder lassen Sie ihn leer für den kompaktesten",
  'go.f1617232': "Die Anfragepriorität {1} ist negativ: 0 steht für die Vorgabe des Modells, 1 für die höchste",
  'go.ef1c4f05': "TLS-Einstellungen: {1}",
  'go.d8914f9e': "Anfrage-Header: {1}",
  'go.2737e7ff': "{1}: verwenden Sie host:port, z. B. localhost:8001",
  'go.2871114d': "Die Serveradresse {1} ist ungültig: verwenden Sie host:port, z. B. localhost:8001",
  'go.8233d55f': "Der Server {1} hat kein Modell {2} (vorhandene Modelle: {3})",
  'go.eb5bac58': "Das Modell {1} auf {2} ist nach {3} immer noch nicht bereit (Zustand {4}): warten Sie, bis der Server es geladen hat, und versuchen Sie es dann erneut",
  'go.64e6ade1': "Das Modell {1} liegt im Repository von {2}, ist aber nicht geladen: der Server lädt Modelle nur auf Anfrage (explizite Modellsteuerung), laden Sie es also dort, z. B. indem Sie tritonserver mit --load-model={3} starten",
  'go.d10204d7': "Das Modell {1} wurde auf {2} entladen: laden Sie es dort erneut",
  'go.3ac71851': "Das Modell {1} auf {2} ist nicht verfügbar: {3}",
  'go.e7b2a6b3': "Bei der Verbindung mit {1}: {2}",
  'go.d887ef69': "Der Server unter {1} antwortete mit HTTP/1.1 statt gRPC: das ist vermutlich der HTTP-Port von Triton (meist 8000); verwenden Sie seinen gRPC-Port (meist 8001)",
  'go.5fd6e84a': "Kein Triton-Server unter {1} erreichbar: prüfen Sie die Adresse und ob der Server läuft (der gRPC-Port von Triton ist meist 8001)",
  'go.54a147e9': "Das Modell {1} auf {2} ist nicht bereit ({3}): warten Sie, bis der Server es geladen hat",
  'go.c0e0ec2c': "Der Triton-Server unter {1} ist nicht verfügbar ({2}): er startet vielleicht neu oder ist überlastet; versuchen Sie es gleich noch einmal",
  'go.570cb7e7': "Der Triton-Server unter {1} ist überlastet ({2}): senden Sie weniger Abschnitte gleichzeitig oder versuchen Sie es später",
  'go.452a3d2b': "Eine Anfrage war zu groß für {1} oder ein vorgeschaltetes Gateway ({2}): erhöhen Sie die Nachrichtengrößen-Grenze des Gateways",
  'go.b78ca3d9': "Der Triton-Server unter {1} antwortete nicht rechtzeitig: prüfen Sie die Adresse und das Netzwerk (der gRPC-Port von Triton ist meist 8001)",
  'go.8cbc7bb2': "Der Triton-Server unter {1} oder ein vorgeschalteter Proxy hat die Anfrage abgebrochen ({2}): versuchen Sie es erneut; wenn es wieder passiert, sehen Sie im Log des Servers nach",
  'go.5b8a2e9f': "Vom Modell {1} auf {2} ist keine Version bereit: {3}",
  'go.8158ee39': "Der Triton-Server unter {1} antwortete {2}: {3}",
  'go.b160f52d': "Der Server unter {1} erwartet TLS, die Verbindung ist aber unverschlüsselt: schalten Sie TLS ein (CLI: --tls)",
  'go.9d384dad': "Der Server unter {1} verwendet kein TLS: schalten Sie TLS aus oder aktivieren Sie TLS auf dem Server",
  'go.45b6ceea': "Das TLS-Zertifikat von {1} ist von keiner Stelle signiert, der dieser Computer vertraut: legen Sie das CA-Zertifikat fest, mit dem es signiert wurde (CLI: --tls-ca FILE)",
  'go.051c782c': "Das TLS-Zertifikat von {1} gilt für einen anderen Namen ({2}): verbinden Sie sich über einen darin genannten Namen oder legen Sie den erwarteten Servernamen fest (CLI: --tls-server-name)",
  'go.5894d1c6': "Der Server unter {1} verlangt ein Client-Zertifikat, dem er vertraut: legen Sie ein Client-Zertifikat und einen Schlüssel fest (CLI: --tls-cert FILE --tls-key FILE)",
  'go.302bfc4b': "Der TLS-Handshake mit {1} ist fehlgeschlagen: {2}",
  // backend/inference/speaker.go
  'go.c28cdd73': "Der Server {1} hat kein Sprechererkennungsmodell bereit (ein Modell, dessen Konfiguration kind {2} angibt, etwa titanet-large): um Sprecher zu unterscheiden, wird eines gebraucht",
  'go.d591f8dc': "Das Modell {1} auf {2} ist kein Sprechererkennungsmodell, das NeMo Transcribe verwenden kann: {3}",
  'go.72cd8546': "Der Bereich [{1}, {2}) liegt nicht im Abschnitt {3} mit {4} Samples",
  'go.67f4e29b': "Das Modell {1} lieferte {2}: {3}",
  // backend/live/live.go
  'go.fca8c363': "Der Ordner für Live-Aufnahmen {1} kann nicht angelegt werden: {2}",
  'go.ecf7ce2a': "Die Aufnahme in {1} kann nicht gestartet werden: {2}",
  'go.09d77fad': "Die Audiodatei der Aufnahme kann nicht angelegt werden: {1}",
  'go.a99db4c0': "Das Audio der Aufnahme kann nicht geschrieben werden: {1}",
  'go.9395660d': "Die Äußerung bei {1} kann nicht aus der Aufnahme zurückgelesen werden: {2}",
  'go.2db20a00': "Die Live-Sitzung {1} wurde nicht sauber beendet: {2} (mit der Notiz in {3} kann Wiederherstellen sie abschließen)",
  // backend/localserver/faults.go
  'go.c52d9202': "Docker hat nicht rechtzeitig geantwortet: es startet vielleicht noch; versuchen Sie es in einer Minute erneut",
  'go.7724478c': "Docker hat diesen Benutzer abgewiesen: fügen Sie Ihr Konto der Gruppe docker-users hinzu und melden Sie sich neu an",
  'go.5af0dbd5': "Docker hat diesen Benutzer abgewiesen: fügen Sie Ihr Konto der Gruppe docker hinzu (sudo usermod -aG docker $USER) und melden Sie sich neu an",
  'go.fc480aef': "Der Datenträger, auf dem Docker seine Images und Volumes ablegt, ist voll: geben Sie Platz frei (der Server braucht etwa {1} GB) und starten Sie erneut",
  'go.e2d7e4ef': "Ein Download ist fehlgeschlagen: dieser Computer scheint offline zu sein oder erreicht die Image-Registry nicht ({1}); verbinden Sie sich mit dem Internet und starten Sie erneut – der erste Start lädt etwa 10 GB herunter",
  'go.5e5d1b57': "{1} ist fehlgeschlagen: {2}",
  'go.595d1378': "{1} ist fehlgeschlagen: {2}",
  // backend/localserver/lifecycle.go
  'go.0d22a1e5': "Der lokale Server wurde noch nicht gestartet: drücken Sie auf Starten",
  'go.097e775b': "Die App kann den lokalen Server nicht fragen, ob er bereit ist (keine Abfrage eingerichtet)",
  'go.5521c6df': "Der Container des Servers ist während des Starts verschwunden (außerhalb der App entfernt?): drücken Sie erneut auf Starten",
  'go.57577abf': "Der Server hat sich beim Starten beendet (Exit-Code {1}): sehen Sie in sein Log",
  'go.ecd04c8b': "Der lokale Server war nach {1} nicht bereit: sehen Sie in sein Log (ein langsamer Download läuft vielleicht noch; drücken Sie erneut auf Starten, um weiter zu warten)",
  'go.e0faa6ad': "Der Start wurde abgebrochen, bevor der Server bereit war",
  'go.3c456489': "Der lokale Server wurde noch nicht gestartet, daher gibt es kein Log",
  // backend/localserver/localserver.go
  'go.eef3746a': "Die Dateien des lokalen Servers konnten nicht geschrieben werden: {1}",
  'go.6cb26a3f': "Unbekanntes Serverprofil {1}: wählen Sie gpu oder cpu",
  'go.3d731cd6': "Wählen Sie mindestens ein Modell aus, das der lokale Server laden soll",
  'go.c7e33d9f': "Für den lokalen Server gibt es kein Modell {1} (verfügbar: {2})",
  'go.acf0192e': "{1} ist keine Portnummer (1 bis 65535)",
  'go.01ef3291': "Die drei Ports des Servers müssen sich unterscheiden (gRPC {1}, HTTP {2}, Metriken {3})",
  'go.4188313e': "Port {1} auf {2} wird schon von einem anderen Programm verwendet: beenden Sie dieses Programm oder wählen Sie einen anderen Port für den lokalen Server",
  // backend/secrets/clientkey.go
  'go.bbd8c419': "Die Schlüsseldatei kann nicht gelesen werden: {1}",
  'go.66d40249': "Der Schlüssel in {1} ist mit einer Passphrase geschützt, die die App nicht annimmt: speichern Sie eine unverschlüsselte Kopie (openssl pkey -in {2} -out key.pem), wählen Sie diese Kopie und löschen Sie sie danach; die App bewahrt den Schlüssel im Schlüsselbund des Systems auf",
  'go.30459ee1': "{1} enthält keinen privaten Schlüssel im PEM-Format (einen Block, der mit -----BEGIN PRIVATE KEY----- beginnt): wählen Sie die Schlüsseldatei des Client-Zertifikats",
  'go.fd8a773e': "Das Client-Zertifikat kann nicht gelesen werden: {1}",
  'go.0cd7e788': "Der Schlüssel in {1} gehört nicht zum Zertifikat {2}: wählen Sie den Schlüssel, mit dem dieses Zertifikat erstellt wurde",
  'go.0e84809a': "{1} enthält kein Zertifikat im PEM-Format (einen Block, der mit -----BEGIN CERTIFICATE----- beginnt): wählen Sie die Datei des Client-Zertifikats",
  'go.1ec9dd6c': "Der Schlüssel in {1} kann nicht gelesen werden: er ist beschädigt oder von einer Art, die Go nicht unterstützt (verwenden Sie RSA, ECDSA oder Ed25519)",
  'go.5626f15d': "Der Schlüssel in {1} lässt sich nicht mit dem Zertifikat {2} verwenden: {3}",
  // backend/secrets/conn.go
  'go.ccfe2908': "Der Client-Schlüssel ({1}) ist nicht im Schlüsselbund: wählen Sie die Schlüsseldatei in den Einstellungen erneut",
  // backend/transcribe/diarize.go
  'go.c9deb830': "Für die Sprechererkennung in einem gespeicherten Transkript braucht es den Verlauf der App, und diese Engine führt keinen",
  'go.9b42378c': "Der Verlauf hat keinen Eintrag {1}",
  'go.e2f6e8ec': "Das Audio dieses Transkripts ist weg: es liegt nicht mehr im Cache-Ordner {1}, und {2} gibt es nicht mehr; legen Sie die Datei wieder dorthin, um ihre Sprecher zu finden",
  'go.d6a60f51': "{1} hat sich seit der Transkription geändert, und die damals transkribierte Kopie ist nicht mehr im Cache: transkribieren Sie die Datei erneut, um ihre Sprecher zu finden",
  // backend/transcribe/engine.go
  'go.3dcb036b': "Abschnitte von {1} s sind zu lang: höchstens {2} s",
  'go.f09d5459': "Die Datenbank der App in {1} kann nicht geöffnet werden: {2}",
  'go.94e6581e': "Die Verbindungseinstellungen haben sich {1}-mal geändert, während Abschnitt {2} gesendet wurde: versuchen Sie es erneut",
  // backend/transcribe/output.go
  'go.a036805a': "Der Ausgabeordner {1} kann nicht angelegt werden: {2}",
  'go.e3eb7961': "Kein Name für die Ausgabedateien",
  'go.6d2bcd2f': "{1} kann nicht erzeugt werden: {2}",
  'go.1f1936d4': "Die Ausgabedatei {1} kann nicht geprüft werden: {2}",
  // backend/transcribe/plan.go
  'go.411f7dfc': "Decoder {1}: verwenden Sie auto, builtin oder ffmpeg",
  // backend/transcribe/queue.go
  'go.bfd49049': "Die Arbeit an dieser Datei wurde unterbrochen, bevor sie fertig war (eine Verbindung wurde geschlossen oder abgebrochen): versuchen Sie es erneut",
  // backend/transcribe/run.go
  'go.bdc4fbb2': "Die Abschnittslänge {1} s liegt nicht zwischen 1 und {2} s",
  'go.17f4c375': "Warten, bis das Modell {1} geladen ist ({2}, bisher {3})",
  'go.fdf72893': "Abschnitt {1} wird erneut gesendet (Versuch {2} von {3}): {4}",
  'go.58967685': "Dasselbe Audio wird gerade für eine andere Datei transkribiert: warten, um das Ergebnis zu übernehmen",
  'go.8f7e3be9': "Sprecher werden ermittelt",
  'go.e90b0342': "Die Datei enthält keine Audio-Samples",
  'go.89cb15ba': "Die Datei ist leer: es gibt nichts zu transkribieren",
  'go.239ccf65': "Die Datei hat keine Tonspur",
  'go.4c688e89': "ffmpeg konnte die Datei nicht dekodieren: {1}",
  'go.11b44335': "Der gewählte Kanal passt nicht zu dieser Datei: {1} (Kanäle werden ab 0 gezählt)",
  'go.c5b3f4cc': "Keine Audiodatei, die diese Version lesen kann: {1}",
  'go.e95ab02e': "Die Audiodatei ist beschädigt: {1}",
  'go.93b9c3aa': "Das Audio kann nicht gelesen werden: {1}",
  'go.9fd053ed': "Die Datenbank der App ist nicht nutzbar: {1}",
  // backend/transcribe/speakers.go
  'go.a24e695c': "Die Verbindungseinstellungen haben sich {1}-mal geändert, während die Sprecher von Abschnitt {2} abgefragt wurden: versuchen Sie es erneut",
  'go.d80084a2': "Sprecherzahlen dürfen nicht negativ sein",
  'go.3d11b046': "Geben Sie entweder eine genaue Sprecherzahl oder ein Minimum und Maximum an, nicht beides",
  'go.d00ed1dc': "Mindestens {1}, aber höchstens {2} Sprecher: das Minimum darf nicht über dem Maximum liegen",
  'go.1ba013e7': "Die Sprecher ließen sich nicht unterscheiden: {1}",
};
