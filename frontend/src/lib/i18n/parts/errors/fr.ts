// French for Go's sentences (./en.ts, generated from the Go code): the same keys and {1}, {2}, … placeholders;
// written by hand, so a new or reworded sentence in Go fails `npm run check` here until it is translated.
import type { Part } from '../../types';
import type { errorsEn } from './en';

export const errorsFr: Part<typeof errorsEn> = {
  // app_localserver.go
  'go.76b2cf88': "impossible de trouver le dossier du serveur local : {1}",
  'go.d9c6ebe6': "impossible de lister les modèles du serveur local : {1}",
  'go.fbb9d8c8': "Docker n'a pas indiqué en {1} l'état du serveur local : réessayez dans une minute",
  // backend/apperr/text.go
  'go.845df81c': "annulé",
  // backend/cache/cache.go
  'go.eee064a7': "aucun dossier de cache défini ; choisissez-en un dans les Réglages ou avec --cache-dir",
  'go.9ff31936': "impossible d'utiliser le dossier de cache {1} : {2} ; choisissez-en un autre dans les Réglages ou avec --cache-dir",
  // backend/inference/model.go
  'go.788b27f3': "le modèle {1} sur {2} ne respecte pas le contrat de modèle de NeMo Transcribe : {3}",
  'go.58827a22': "le modèle {1} a renvoyé une sortie {2} qui n'est pas un seul élément de texte",
  'go.cbc6f62b': "le modèle {1} a renvoyé une sortie {2} qui n'est pas un seul élément JSON",
  'go.8c2718b1': "modèle {1} : {2}",
  // backend/inference/retry.go
  'go.1ab518bf': "{1} ({2} tentatives en {3})",
  // backend/inference/server.go
  'go.5cee2d1e': "aucune adresse de serveur : saisissez hôte:port du point d'accès gRPC d'un serveur Triton (en général le port 8001)",
  'go.3afb5f91': "l'entrée audio {1} n'est pas prévue par le contrat : utilisez {2}, {3} ou {4}, ou laissez vide pour la plus compacte",
  'go.f1617232': "la priorité de requête {1} est négative : 0 pour celle du modèle par défaut, 1 pour la plus haute",
  'go.ef1c4f05': "réglages TLS : {1}",
  'go.d8914f9e': "en-têtes de requête : {1}",
  'go.2737e7ff': "{1} : utilisez hôte:port, par ex. localhost:8001",
  'go.2871114d': "l'adresse de serveur {1} n'est pas valide : utilisez hôte:port, par ex. localhost:8001",
  'go.8233d55f': "le serveur {1} n'a pas de modèle {2} (modèles présents : {3})",
  'go.eb5bac58': "le modèle {1} sur {2} n'est toujours pas prêt après {3} (état {4}) : attendez que le serveur ait fini de le charger, puis réessayez",
  'go.64e6ade1': "le modèle {1} est dans le dépôt de {2} mais n'est pas chargé : le serveur ne charge les modèles que sur demande (contrôle explicite des modèles) ; chargez-le là-bas, par ex. en lançant tritonserver avec --load-model={3}",
  'go.d10204d7': "le modèle {1} a été déchargé sur {2} : rechargez-le là-bas",
  'go.3ac71851': "le modèle {1} sur {2} n'est pas disponible : {3}",
  'go.e7b2a6b3': "en communiquant avec {1} : {2}",
  'go.d887ef69': "le serveur à {1} a répondu en HTTP/1.1, pas en gRPC : c'est sans doute le port HTTP de Triton (en général 8000) ; utilisez son port gRPC (en général 8001)",
  'go.5fd6e84a': "impossible de joindre un serveur Triton à {1} : vérifiez l'adresse et que le serveur tourne (le port gRPC de Triton est en général 8001)",
  'go.54a147e9': "le modèle {1} sur {2} n'est pas prêt ({3}) : attendez que le serveur ait fini de le charger",
  'go.c0e0ec2c': "le serveur Triton à {1} est indisponible ({2}) : il redémarre peut-être ou est surchargé ; réessayez dans un instant",
  'go.570cb7e7': "le serveur Triton à {1} est surchargé ({2}) : réduisez le nombre de segments audio envoyés en même temps ou réessayez plus tard",
  'go.452a3d2b': "une requête était trop grande pour {1} ou une passerelle placée devant ({2}) : augmentez la taille maximale des messages de la passerelle",
  'go.b78ca3d9': "le serveur Triton à {1} n'a pas répondu à temps : vérifiez l'adresse et le réseau (le port gRPC de Triton est en général 8001)",
  'go.8cbc7bb2': "le serveur Triton à {1}, ou un proxy placé devant, a annulé la requête ({2}) : réessayez ; si cela se reproduit, consultez le journal du serveur",
  'go.5b8a2e9f': "le modèle {1} sur {2} n'a aucune version prête : {3}",
  'go.8158ee39': "le serveur Triton à {1} a répondu {2} : {3}",
  'go.b160f52d': "le serveur à {1} attend TLS mais la connexion est en clair : activez TLS (CLI : --tls)",
  'go.9d384dad': "le serveur à {1} n'utilise pas TLS : désactivez TLS, ou activez-le sur le serveur",
  'go.45b6ceea': "le certificat TLS de {1} n'est signé par aucune autorité à laquelle cet ordinateur fait confiance : indiquez le certificat d'AC qui l'a signé (CLI : --tls-ca FILE)",
  'go.051c782c': "le certificat TLS de {1} est établi pour un autre nom ({2}) : connectez-vous par un nom qu'il indique, ou définissez le nom de serveur attendu (CLI : --tls-server-name)",
  'go.5894d1c6': "le serveur à {1} exige un certificat client qu'il reconnaît : indiquez un certificat client et sa clé (CLI : --tls-cert FILE --tls-key FILE)",
  'go.302bfc4b': "la négociation TLS avec {1} a échoué : {2}",
  // backend/inference/speaker.go
  'go.c28cdd73': "le serveur {1} n'a aucun modèle d'empreinte de locuteur prêt (un modèle dont la configuration indique kind {2}, comme titanet-large) : il en faut un pour distinguer les locuteurs",
  'go.d591f8dc': "le modèle {1} sur {2} n'est pas un modèle d'empreinte de locuteur utilisable par NeMo Transcribe : {3}",
  'go.72cd8546': "l'intervalle [{1}, {2}) n'est pas dans le segment audio {3} de {4} échantillons",
  'go.67f4e29b': "le modèle {1} a renvoyé {2} : {3}",
  // backend/live/live.go
  'go.fca8c363': "impossible de créer le dossier des enregistrements en direct {1} : {2}",
  'go.ecf7ce2a': "impossible de démarrer l'enregistrement dans {1} : {2}",
  'go.09d77fad': "impossible de créer le fichier audio de l'enregistrement : {1}",
  'go.a99db4c0': "impossible d'écrire l'audio de l'enregistrement : {1}",
  'go.9395660d': "impossible de relire depuis l'enregistrement l'énoncé à {1} : {2}",
  'go.2db20a00': "la session en direct {1} ne s'est pas fermée proprement : {2} (la note dans {3} permet à Récupérer de la terminer)",
  // backend/localserver/faults.go
  'go.c52d9202': "Docker n'a pas répondu à temps : il est peut-être encore en train de démarrer ; réessayez dans une minute",
  'go.7724478c': "Docker a refusé cet utilisateur : ajoutez votre compte au groupe docker-users et reconnectez-vous",
  'go.5af0dbd5': "Docker a refusé cet utilisateur : ajoutez votre compte au groupe docker (sudo usermod -aG docker $USER) et reconnectez-vous",
  'go.fc480aef': "le disque où Docker garde ses images et volumes est plein : libérez de la place (le serveur a besoin d'environ {1} Go) et relancez",
  'go.e2d7e4ef': "un téléchargement a échoué : cet ordinateur semble hors ligne ou ne peut pas joindre le registre d'images ({1}) ; connectez-vous à Internet et relancez — le premier démarrage télécharge environ 10 Go",
  'go.5e5d1b57': "{1} a échoué : {2}",
  'go.595d1378': "{1} a échoué : {2}",
  // backend/localserver/lifecycle.go
  'go.0d22a1e5': "le serveur local n'a pas encore été démarré : appuyez sur Démarrer",
  'go.097e775b': "l'application ne peut pas demander au serveur local s'il est prêt (aucune sonde)",
  'go.5521c6df': "le conteneur du serveur a disparu pendant son démarrage (supprimé hors de l'application ?) : appuyez de nouveau sur Démarrer",
  'go.57577abf': "le serveur s'est arrêté pendant le démarrage (code de sortie {1}) : consultez son journal",
  'go.ecd04c8b': "le serveur local n'était pas prêt après {1} : consultez son journal (un téléchargement lent est peut-être encore en cours ; appuyez de nouveau sur Démarrer pour attendre encore)",
  'go.e0faa6ad': "le démarrage a été interrompu avant que le serveur soit prêt",
  'go.3c456489': "le serveur local n'a pas encore été démarré, il n'y a donc pas de journal",
  // backend/localserver/localserver.go
  'go.eef3746a': "impossible d'écrire les fichiers du serveur local : {1}",
  'go.6cb26a3f': "profil de serveur inconnu {1} : choisissez gpu ou cpu",
  'go.3d731cd6': "cochez au moins un modèle à charger par le serveur local",
  'go.c7e33d9f': "il n'y a pas de modèle {1} pour le serveur local (disponibles : {2})",
  'go.acf0192e': "{1} n'est pas un numéro de port (1 à 65535)",
  'go.01ef3291': "les trois ports du serveur doivent être différents (gRPC {1}, HTTP {2}, métriques {3})",
  'go.4188313e': "le port {1} sur {2} est déjà utilisé par un autre programme : arrêtez ce programme ou choisissez un autre port pour le serveur local",
  // backend/secrets/clientkey.go
  'go.bbd8c419': "impossible de lire le fichier de clé : {1}",
  'go.66d40249': "la clé dans {1} est protégée par une phrase secrète, que l'application ne prend pas : enregistrez une copie non chiffrée (openssl pkey -in {2} -out key.pem), choisissez cette copie, puis supprimez-la ; l'application garde la clé dans le trousseau du système",
  'go.30459ee1': "{1} ne contient aucune clé privée au format PEM (un bloc qui commence par -----BEGIN PRIVATE KEY-----) : choisissez le fichier de clé du certificat client",
  'go.fd8a773e': "impossible de lire le certificat client : {1}",
  'go.0cd7e788': "la clé dans {1} n'est pas celle du certificat {2} : choisissez la clé créée avec ce certificat",
  'go.0e84809a': "{1} ne contient aucun certificat au format PEM (un bloc qui commence par -----BEGIN CERTIFICATE-----) : choisissez le fichier du certificat client",
  'go.1ec9dd6c': "la clé dans {1} est illisible : elle est endommagée ou d'un type que Go ne prend pas en charge (utilisez RSA, ECDSA ou Ed25519)",
  'go.5626f15d': "impossible d'utiliser la clé dans {1} avec le certificat {2} : {3}",
  // backend/secrets/conn.go
  'go.ccfe2908': "la clé client ({1}) n'est pas dans le trousseau : choisissez de nouveau le fichier de clé dans les Réglages",
  // backend/transcribe/diarize.go
  'go.c9deb830': "identifier les locuteurs d'une transcription enregistrée demande l'historique de l'application, et ce moteur n'en tient pas",
  'go.9b42378c': "l'historique n'a pas d'entrée {1}",
  'go.e2f6e8ec': "l'audio de cette transcription a disparu : il n'est plus dans le dossier de cache {1}, et {2} n'existe plus ; remettez le fichier à sa place pour trouver ses locuteurs",
  'go.d6a60f51': "{1} a changé depuis sa transcription, et la copie transcrite alors n'est plus dans le cache : transcrivez-le de nouveau pour trouver ses locuteurs",
  // backend/transcribe/engine.go
  'go.3dcb036b': "des segments audio de {1} s sont trop longs : {2} s au plus",
  'go.f09d5459': "impossible d'ouvrir la base de données de l'application dans {1} : {2}",
  'go.94e6581e': "les réglages de connexion ont changé {1} fois pendant l'envoi du segment audio {2} : réessayez",
  // backend/transcribe/output.go
  'go.a036805a': "impossible de créer le dossier de sortie {1} : {2}",
  'go.e3eb7961': "aucun nom pour les fichiers de sortie",
  'go.6d2bcd2f': "impossible de produire {1} : {2}",
  'go.1f1936d4': "impossible de vérifier le fichier de sortie {1} : {2}",
  // backend/transcribe/plan.go
  'go.411f7dfc': "décodeur {1} : utilisez auto, builtin ou ffmpeg",
  // backend/transcribe/queue.go
  'go.bfd49049': "le travail sur ce fichier a été interrompu avant la fin (une connexion s'est fermée ou a été annulée) : relancez-le",
  // backend/transcribe/run.go
  'go.bdc4fbb2': "la longueur de segment audio {1} s n'est pas comprise entre 1 et {2} s",
  'go.17f4c375': "en attente du chargement du modèle {1} ({2}, depuis {3})",
  'go.fdf72893': "nouvel essai du segment audio {1} (tentative {2} sur {3}) : {4}",
  'go.58967685': "le même audio est en cours de transcription pour un autre fichier : en attente pour réutiliser son résultat",
  'go.8f7e3be9': "recherche des locuteurs",
  'go.e90b0342': "le fichier ne contient aucun échantillon audio",
  'go.89cb15ba': "le fichier est vide : il n'y a rien à transcrire",
  'go.239ccf65': "le fichier n'a pas de piste son",
  'go.4c688e89': "ffmpeg n'a pas pu décoder le fichier : {1}",
  'go.11b44335': "le canal choisi ne convient pas à ce fichier : {1} (les canaux sont comptés à partir de 0)",
  'go.c5b3f4cc': "ce n'est pas un fichier audio que cette version sait lire : {1}",
  'go.e95ab02e': "le fichier audio est endommagé : {1}",
  'go.93b9c3aa': "impossible de lire l'audio : {1}",
  'go.9fd053ed': "impossible d'utiliser la base de données de l'application : {1}",
  // backend/transcribe/speakers.go
  'go.a24e695c': "les réglages de connexion ont changé {1} fois pendant la demande des locuteurs du segment audio {2} : réessayez",
  'go.d80084a2': "le nombre de locuteurs ne peut pas être négatif",
  'go.3d11b046': "indiquez soit un nombre exact de locuteurs, soit un minimum et un maximum, pas les deux",
  'go.d00ed1dc': "au moins {1} locuteurs mais au plus {2} : le minimum ne peut pas dépasser le maximum",
  'go.1ba013e7': "impossible de distinguer les locuteurs : {1}",
};
