//go:build linux && cgo && (dev || production)

package main

/*
#cgo !webkit2_41 pkg-config: webkit2gtk-4.0
#cgo webkit2_41 pkg-config: webkit2gtk-4.1
#include <stdlib.h>
#include <string.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

// Our own pages: the embedded assets (wails://) and, in a dev build, the
// dev server on the loopback.
static gboolean nemo_own_origin(const gchar *uri) {
	if (uri == NULL) return FALSE;
	return g_str_has_prefix(uri, "wails://") ||
		g_str_has_prefix(uri, "http://localhost:") || g_str_has_prefix(uri, "http://127.0.0.1:");
}

// WebKitGTK asks the embedder about every microphone request and, with no
// handler, denies it (NotAllowedError). Allow our own pages the microphone
// (never the camera or the screen), and let them name the devices.
static gboolean nemo_permission(WebKitWebView *view, WebKitPermissionRequest *req, gpointer data) {
	gboolean own = nemo_own_origin(webkit_web_view_get_uri(view));
	if (WEBKIT_IS_USER_MEDIA_PERMISSION_REQUEST(req)) {
		WebKitUserMediaPermissionRequest *m = WEBKIT_USER_MEDIA_PERMISSION_REQUEST(req);
		if (own && webkit_user_media_permission_is_for_audio_device(m) && !webkit_user_media_permission_is_for_video_device(m)
			&& !webkit_user_media_permission_is_for_display_device(m)) {
			webkit_permission_request_allow(req);
		} else {
			webkit_permission_request_deny(req);
		}
		return TRUE;
	}
	if (WEBKIT_IS_DEVICE_INFO_PERMISSION_REQUEST(req)) {
		if (own) webkit_permission_request_allow(req); else webkit_permission_request_deny(req);
		return TRUE;
	}
	return FALSE; // the default: denied
}

static int nemo_found;

static void nemo_setup(GtkWidget *w, gpointer mock) {
	if (WEBKIT_IS_WEB_VIEW(w)) {
		if (g_object_get_data(G_OBJECT(w), "nemo-mic") == NULL) {
			WebKitSettings *s = webkit_web_view_get_settings(WEBKIT_WEB_VIEW(w));
			webkit_settings_set_enable_media_stream(s, TRUE);
			webkit_settings_set_enable_mediasource(s, TRUE);
			if (GPOINTER_TO_INT(mock)) webkit_settings_set_enable_mock_capture_devices(s, TRUE);
			g_signal_connect(G_OBJECT(w), "permission-request", G_CALLBACK(nemo_permission), NULL);
			g_object_set_data(G_OBJECT(w), "nemo-mic", GINT_TO_POINTER(1));
		}
		nemo_found++;
		return;
	}
	if (GTK_IS_CONTAINER(w)) gtk_container_forall(GTK_CONTAINER(w), nemo_setup, mock);
}

// Runs on the GTK main thread (g_idle_add): Wails v2 gives no hook on its
// WebKitWebView, so find it under the toplevel windows.
static gboolean nemo_enable_mic(gpointer mock) {
	GList *tops = gtk_window_list_toplevels();
	nemo_found = 0;
	for (GList *l = tops; l != NULL; l = l->next) nemo_setup(GTK_WIDGET(l->data), mock);
	g_list_free(tops);
	extern void nemoMicDone(int);
	nemoMicDone(nemo_found);
	return G_SOURCE_REMOVE;
}

static void nemo_enable_mic_later(int mock) { g_idle_add(nemo_enable_mic, GINT_TO_POINTER(mock)); }
*/
import "C"

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// micDone hears how many web views nemo_enable_mic set up.
var micDone = make(chan int, 1)

//export nemoMicDone
func nemoMicDone(n C.int) {
	select {
	case micDone <- int(n):
	default:
	}
}

// enableMicrophone lets the window's WebKitGTK view use the microphone:
// media streams on, and microphone requests from our own pages allowed.
// NEMO_TRANSCRIBE_MOCK_MIC=1 adds WebKit's mock capture devices (tests
// under Xvfb, where there is no sound card); NEMO_TRANSCRIBE_MIC_PROBE=1
// then asks getUserMedia from inside the window and prints "mic-probe:
// <result>", so a test can see the permission path work in the real
// window.
func (a *App) enableMicrophone(ctx context.Context) {
	mock := 0
	if os.Getenv("NEMO_TRANSCRIBE_MOCK_MIC") == "1" {
		mock = 1
	}
	C.nemo_enable_mic_later(C.int(mock))
	select {
	case n := <-micDone:
		if n == 0 {
			log.Print("microphone: no web view found to allow it in; Record will say the permission was refused")
		}
	case <-time.After(10 * time.Second):
		log.Print("microphone: the GTK main loop did not run the setup within 10 s")
	case <-ctx.Done():
		return
	}
	if os.Getenv("NEMO_TRANSCRIBE_MIC_PROBE") == "1" {
		go micProbe(ctx)
	}
}

// micProbe runs getUserMedia in the window until the page answers.
func micProbe(ctx context.Context) {
	got := make(chan string, 1)
	runtime.EventsOn(ctx, "mic:probe", func(data ...any) {
		select {
		case got <- fmt.Sprint(data...):
		default:
		}
	})
	const js = `navigator.mediaDevices && navigator.mediaDevices.getUserMedia ?
navigator.mediaDevices.getUserMedia({audio: true}).then(s => { s.getTracks().forEach(t => t.stop()); window.runtime.EventsEmit('mic:probe', 'ok'); },
  e => window.runtime.EventsEmit('mic:probe', e.name || String(e))) : window.runtime && window.runtime.EventsEmit('mic:probe', 'NoMediaDevices')`
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		runtime.WindowExecJS(ctx, js)
		select {
		case r := <-got:
			fmt.Fprintf(os.Stderr, "mic-probe: %s\n", r)
			return
		case <-deadline:
			fmt.Fprintln(os.Stderr, "mic-probe: no answer from the page within 30 s")
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
