// Spanish for Go's sentences (./en.ts, generated from the Go code): the same keys and {1}, {2}, … placeholders;
// written by hand, so a new or reworded sentence in Go fails `npm run check` here until it is translated.
import type { Part } from '../../types';
import type { errorsEn } from './en';

export const errorsEs: Part<typeof errorsEn> = {
  // app_localserver.go
  'go.76b2cf88': "no se pudo encontrar la carpeta del servidor local: {1}",
  'go.d9c6ebe6': "no se pudieron listar los modelos del servidor local: {1}",
  'go.fbb9d8c8': "Docker no informó en {1} del estado del servidor local: inténtelo de nuevo en un minuto",
  // backend/apperr/text.go
  'go.845df81c': "cancelado",
  // backend/cache/cache.go
  'go.eee064a7': "no hay carpeta de caché; elija una en Ajustes o con --cache-dir",
  'go.9ff31936': "no se puede usar la carpeta de caché {1}: {2}; elija otra en Ajustes o con --cache-dir",
  // backend/inference/model.go
  'go.788b27f3': "el modelo {1} en {2} no cumple el contrato de modelos de NeMo Transcribe: {3}",
  'go.58827a22': "el modelo {1} devolvió una salida {2} que no es un único elemento de texto",
  'go.cbc6f62b': "el modelo {1} devolvió una salida {2} que no es un único elemento JSON",
  'go.8c2718b1': "modelo {1}: {2}",
  // backend/inference/retry.go
  'go.1ab518bf': "{1} ({2} intentos en {3})",
  // backend/inference/server.go
  'go.5cee2d1e': "no hay dirección de servidor: escriba host:puerto del punto gRPC de un servidor Triton (normalmente el puerto 8001)",
  'go.3afb5f91': "la entrada de audio {1} no está en el contrato: use {2}, {3} o {4}, o déjela vacía para la más compacta",
  'go.f1617232': "la prioridad de solicitud {1} es negativa: use 0 para la predeterminada del modelo, 1 para la más alta",
  'go.ef1c4f05': "ajustes de TLS: {1}",
  'go.d8914f9e': "encabezados de solicitud: {1}",
  'go.2737e7ff': "{1}: use host:puerto, p. ej. localhost:8001",
  'go.2871114d': "la dirección de servidor {1} no es válida: use host:puerto, p. ej. localhost:8001",
  'go.8233d55f': "el servidor {1} no tiene el modelo {2} (modelos disponibles: {3})",
  'go.eb5bac58': "el modelo {1} en {2} sigue sin estar listo tras {3} (estado {4}): espere a que el servidor termine de cargarlo y vuelva a intentarlo",
  'go.64e6ade1': "el modelo {1} está en el repositorio de {2} pero no está cargado: el servidor solo carga modelos cuando se le pide (control explícito de modelos); cárguelo allí, p. ej. iniciando tritonserver con --load-model={3}",
  'go.d10204d7': "el modelo {1} se descargó en {2}: vuelva a cargarlo allí",
  'go.3ac71851': "el modelo {1} en {2} no está disponible: {3}",
  'go.e7b2a6b3': "al comunicarse con {1}: {2}",
  'go.d887ef69': "el servidor en {1} respondió en HTTP/1.1, no en gRPC: probablemente es el puerto HTTP de Triton (normalmente 8000); use su puerto gRPC (normalmente 8001)",
  'go.5fd6e84a': "no se puede conectar con un servidor Triton en {1}: compruebe la dirección y que el servidor esté en marcha (el puerto gRPC de Triton suele ser 8001)",
  'go.54a147e9': "el modelo {1} en {2} no está listo ({3}): espere a que el servidor termine de cargarlo",
  'go.c0e0ec2c': "el servidor Triton en {1} no está disponible ({2}): puede que se esté reiniciando o esté sobrecargado; inténtelo de nuevo en breve",
  'go.570cb7e7': "el servidor Triton en {1} está sobrecargado ({2}): reduzca el número de fragmentos en curso o inténtelo más tarde",
  'go.452a3d2b': "una solicitud era demasiado grande para {1} o una pasarela delante de él ({2}): aumente el límite de tamaño de mensaje de la pasarela",
  'go.b78ca3d9': "el servidor Triton en {1} no respondió a tiempo: compruebe la dirección y la red (el puerto gRPC de Triton suele ser 8001)",
  'go.8cbc7bb2': "el servidor Triton en {1}, o un proxy delante de él, canceló la solicitud ({2}): vuelva a intentarlo; si sigue ocurriendo, revise el registro del servidor",
  'go.5b8a2e9f': "el modelo {1} en {2} no tiene ninguna versión lista: {3}",
  'go.8158ee39': "el servidor Triton en {1} respondió {2}: {3}",
  'go.b160f52d': "el servidor en {1} espera TLS pero la conexión no está cifrada: active TLS (CLI: --tls)",
  'go.9d384dad': "el servidor en {1} no usa TLS: desactive TLS o actívelo en el servidor",
  'go.45b6ceea': "el certificado TLS de {1} no está firmado por una autoridad en la que confíe este equipo: indique el certificado de CA que lo firmó (CLI: --tls-ca FILE)",
  'go.051c782c': "el certificado TLS de {1} es para otro nombre ({2}): conéctese por un nombre que figure en él o indique el nombre de servidor esperado (CLI: --tls-server-name)",
  'go.5894d1c6': "el servidor en {1} exige un certificado de cliente de confianza: indique un certificado de cliente y su clave (CLI: --tls-cert FILE --tls-key FILE)",
  'go.302bfc4b': "falló el protocolo de enlace TLS con {1}: {2}",
  // backend/inference/speaker.go
  'go.c28cdd73': "el servidor {1} no tiene listo ningún modelo de huella de hablante (un modelo cuya configuración indique kind {2}, como titanet-large): hace falta uno para distinguir a los hablantes",
  'go.d591f8dc': "el modelo {1} en {2} no es un modelo de huella de hablante que NeMo Transcribe pueda usar: {3}",
  'go.72cd8546': "el intervalo [{1}, {2}) no está dentro del fragmento {3} de {4} muestras",
  'go.67f4e29b': "el modelo {1} devolvió {2}: {3}",
  // backend/live/live.go
  'go.fca8c363': "no se puede crear la carpeta de grabaciones en vivo {1}: {2}",
  'go.ecf7ce2a': "no se puede iniciar la grabación en {1}: {2}",
  'go.09d77fad': "no se puede crear el archivo de audio de la grabación: {1}",
  'go.a99db4c0': "no se puede escribir el audio de la grabación: {1}",
  'go.9395660d': "no se puede volver a leer de la grabación el enunciado en {1}: {2}",
  'go.2db20a00': "la sesión en vivo {1} no se cerró correctamente: {2} (la nota en {3} permite que Recuperar la termine)",
  // backend/localserver/faults.go
  'go.c52d9202': "Docker no respondió a tiempo: puede que aún se esté iniciando; inténtelo de nuevo en un minuto",
  'go.7724478c': "Docker rechazó a este usuario: añada su cuenta al grupo docker-users y vuelva a iniciar sesión",
  'go.5af0dbd5': "Docker rechazó a este usuario: añada su cuenta al grupo docker (sudo usermod -aG docker $USER) y vuelva a iniciar sesión",
  'go.fc480aef': "el disco donde Docker guarda sus imágenes y volúmenes está lleno: libere espacio (el servidor necesita unos {1} GB) y vuelva a iniciar",
  'go.e2d7e4ef': "falló una descarga: este equipo parece estar sin conexión o no llega al registro de imágenes ({1}); conéctese a internet y vuelva a iniciar; el primer inicio descarga unos 10 GB",
  'go.5e5d1b57': "{1} falló: {2}",
  'go.595d1378': "{1} falló: {2}",
  // backend/localserver/lifecycle.go
  'go.0d22a1e5': "el servidor local aún no se ha iniciado: pulse Iniciar",
  'go.097e775b': "la aplicación no puede preguntar al servidor local si está listo (no hay sondeo)",
  'go.5521c6df': "el contenedor del servidor desapareció mientras se iniciaba (¿se eliminó fuera de la aplicación?): pulse Iniciar de nuevo",
  'go.57577abf': "el servidor se detuvo al iniciarse (código de salida {1}): consulte su registro",
  'go.ecd04c8b': "el servidor local no estaba listo tras {1}: consulte su registro (puede que siga una descarga lenta; pulse Iniciar de nuevo para seguir esperando)",
  'go.e0faa6ad': "el inicio se detuvo antes de que el servidor estuviera listo",
  'go.3c456489': "el servidor local aún no se ha iniciado, así que no hay registro",
  // backend/localserver/localserver.go
  'go.eef3746a': "no se pudieron escribir los archivos del servidor local: {1}",
  'go.6cb26a3f': "perfil de servidor desconocido {1}: elija gpu o cpu",
  'go.3d731cd6': "marque al menos un modelo para que lo cargue el servidor local",
  'go.c7e33d9f': "no hay ningún modelo {1} para el servidor local (disponibles: {2})",
  'go.acf0192e': "{1} no es un número de puerto (de 1 a 65535)",
  'go.01ef3291': "los tres puertos del servidor deben ser distintos (gRPC {1}, HTTP {2}, métricas {3})",
  'go.4188313e': "el puerto {1} en {2} ya lo usa otro programa: detenga ese programa o elija otro puerto para el servidor local",
  // backend/secrets/clientkey.go
  'go.bbd8c419': "no se puede leer el archivo de clave: {1}",
  'go.66d40249': "la clave de {1} está protegida con una frase de contraseña, que la aplicación no admite: guarde una copia sin cifrar (openssl pkey -in {2} -out key.pem), elija esa copia y luego bórrela; la aplicación guarda la clave en el llavero del sistema",
  'go.30459ee1': "{1} no contiene ninguna clave privada en formato PEM (un bloque que empieza por -----BEGIN PRIVATE KEY-----): elija el archivo de clave del certificado de cliente",
  'go.fd8a773e': "no se puede leer el certificado de cliente: {1}",
  'go.0cd7e788': "la clave de {1} no es la del certificado {2}: elija la clave con la que se creó ese certificado",
  'go.0e84809a': "{1} no contiene ningún certificado en formato PEM (un bloque que empieza por -----BEGIN CERTIFICATE-----): elija el archivo del certificado de cliente",
  'go.1ec9dd6c': "la clave de {1} no se puede leer: está dañada o es de un tipo que Go no admite (use RSA, ECDSA o Ed25519)",
  'go.5626f15d': "no se puede usar la clave de {1} con el certificado {2}: {3}",
  // backend/secrets/conn.go
  'go.ccfe2908': "la clave de cliente ({1}) no está en el llavero: vuelva a elegir el archivo de clave en Ajustes",
  // backend/transcribe/diarize.go
  'go.c9deb830': "identificar a los hablantes de una transcripción guardada requiere el historial de la aplicación, y este motor no lo lleva",
  'go.9b42378c': "el historial no tiene ninguna entrada {1}",
  'go.e2f6e8ec': "el audio de esta transcripción ya no está: no está en la carpeta de caché {1} y {2} ya no existe; vuelva a poner el archivo allí para encontrar a sus hablantes",
  'go.d6a60f51': "{1} ha cambiado desde que se transcribió, y la copia transcrita entonces ya no está en la caché: vuelva a transcribirlo para encontrar a sus hablantes",
  // backend/transcribe/engine.go
  'go.3dcb036b': "los fragmentos de {1} s son demasiado largos: como máximo {2} s",
  'go.f09d5459': "no se puede abrir la base de datos de la aplicación en {1}: {2}",
  'go.94e6581e': "los ajustes de conexión cambiaron {1} veces mientras se enviaba el fragmento {2}: vuelva a intentarlo",
  // backend/transcribe/output.go
  'go.a036805a': "no se puede crear la carpeta de salida {1}: {2}",
  'go.e3eb7961': "no hay nombre para los archivos de salida",
  'go.6d2bcd2f': "no se puede generar {1}: {2}",
  'go.1f1936d4': "no se puede comprobar el archivo de salida {1}: {2}",
  // backend/transcribe/plan.go
  'go.411f7dfc': "decodificador {1}: use auto, builtin o ffmpeg",
  // backend/transcribe/queue.go
  'go.bfd49049': "el trabajo en este archivo se interrumpió antes de terminar (una conexión se cerró o se canceló): vuelva a intentarlo",
  // backend/transcribe/run.go
  'go.bdc4fbb2': "la longitud de fragmento de {1} s no está entre 1 y {2} s",
  'go.17f4c375': "esperando a que se cargue el modelo {1} ({2}, {3} hasta ahora)",
  'go.fdf72893': "reintentando el fragmento {1} (intento {2} de {3}): {4}",
  'go.58967685': "el mismo audio se está transcribiendo para otro archivo: esperando para reutilizar su resultado",
  'go.8f7e3be9': "buscando a los hablantes",
  'go.e90b0342': "el archivo no contiene muestras de audio",
  'go.89cb15ba': "el archivo está vacío: no hay nada que transcribir",
  'go.239ccf65': "el archivo no tiene pista de sonido",
  'go.4c688e89': "ffmpeg no pudo decodificar el archivo: {1}",
  'go.11b44335': "el canal elegido no encaja con este archivo: {1} (los canales se cuentan desde 0)",
  'go.c5b3f4cc': "no es un archivo de audio que esta versión pueda leer: {1}",
  'go.e95ab02e': "el archivo de audio está dañado: {1}",
  'go.93b9c3aa': "no se puede leer el audio: {1}",
  'go.9fd053ed': "no se puede usar la base de datos de la aplicación: {1}",
  // backend/transcribe/speakers.go
  'go.a24e695c': "los ajustes de conexión cambiaron {1} veces mientras se pedían los hablantes del fragmento {2}: vuelva a intentarlo",
  'go.d80084a2': "el número de hablantes no puede ser negativo",
  'go.3d11b046': "indique o un número exacto de hablantes o un mínimo y un máximo, no ambos",
  'go.d00ed1dc': "al menos {1} hablantes pero como máximo {2}: el mínimo no puede superar al máximo",
  'go.1ba013e7': "no se pudo distinguir a los hablantes: {1}",
};
